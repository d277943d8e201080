using System.Text.Json;
using XdsControlPlane.Kubernetes.Admission;
using XdsControlPlane.Server.Webhook;

namespace XdsControlPlane.Server.Tests;

/// <summary>The Sandbox owner annotations for each shape of object and operation (the reviewer is pure; AdmissionWebhookTests covers it over HTTPS).</summary>
public sealed class CreatorReviewerTests
{
    private static readonly AdmissionUser Alice = new("alice", "uid-a", ["dev"]);

    [TestCase("""{"spec":{}}""", """[{"op":"add","path":"/metadata","value":{"annotations":{"sandboxctl.io/created-by":"alice","sandboxctl.io/created-by-uid":"uid-a"}}}]""")]
    [TestCase("""{"metadata":{"name":"x"}}""", """[{"op":"add","path":"/metadata/annotations","value":{"sandboxctl.io/created-by":"alice","sandboxctl.io/created-by-uid":"uid-a"}}]""")]
    [TestCase("""{"metadata":{"annotations":null}}""", """[{"op":"add","path":"/metadata/annotations","value":{"sandboxctl.io/created-by":"alice","sandboxctl.io/created-by-uid":"uid-a"}}]""")]
    [TestCase("""{"metadata":{"annotations":{"sandboxctl.io/created-by":"alice","sandboxctl.io/created-by-uid":"uid-a"}}}""", null)]
    [TestCase("""{"metadata":{"annotations":{"sandboxctl.io/created-by":7}}}""", """[{"op":"add","path":"/metadata/annotations/sandboxctl.io~1created-by","value":"alice"},{"op":"add","path":"/metadata/annotations/sandboxctl.io~1created-by-uid","value":"uid-a"}]""")]
    public void Create_ObjectShapes_GetThePatchThatRecordsTheUser(string incoming, string? patch)
    {
        var verdict = CreatorReviewer.Sandboxes().Review(Subject("CREATE", incoming, null, Alice));

        Assert.That((verdict.Allowed, verdict.Patch?.ToJsonString()), Is.EqualTo((true, patch)));
    }

    [Test]
    public void Create_UserWithoutUid_RemovesAForgedUid()
    {
        var verdict = CreatorReviewer.Sandboxes().Review(Subject("CREATE", """{"metadata":{"annotations":{"sandboxctl.io/created-by-uid":"forged"}}}""", null, new AdmissionUser("bob", null, [])));

        Assert.That(verdict.Patch!.ToJsonString(), Is.EqualTo("""[{"op":"add","path":"/metadata/annotations/sandboxctl.io~1created-by","value":"bob"},{"op":"remove","path":"/metadata/annotations/sandboxctl.io~1created-by-uid"}]"""));
    }

    [Test]
    public void Create_NoUserName_IsRefused()
    {
        var verdict = CreatorReviewer.Sandboxes().Review(Subject("CREATE", "{}", null, new AdmissionUser("", null, [])));

        Assert.That((verdict.Allowed, verdict.Code, verdict.Message), Is.EqualTo((false, 403, "userInfo.username: empty; the creator of a Sandbox is who creates it, and the API server named no one")));
    }

    [Test]
    public void Update_StoredObjectWithoutOwner_RemovesTheOneTheClientAdds()
    {
        var verdict = CreatorReviewer.Sandboxes().Review(Subject("UPDATE", """{"metadata":{"annotations":{"sandboxctl.io/created-by":"mallory"}}}""", """{"metadata":{}}""", Alice));

        Assert.That(verdict.Patch!.ToJsonString(), Is.EqualTo("""[{"op":"remove","path":"/metadata/annotations/sandboxctl.io~1created-by"}]"""));
    }

    [Test]
    public void Update_ClientDropsEveryAnnotation_StoredOwnerIsPutBack()
    {
        var verdict = CreatorReviewer.Sandboxes().Review(Subject("UPDATE", """{"metadata":{"name":"x"}}""", """{"metadata":{"annotations":{"sandboxctl.io/created-by":"alice"}}}""", new AdmissionUser("mallory", null, [])));

        Assert.That(verdict.Patch!.ToJsonString(), Is.EqualTo("""[{"op":"add","path":"/metadata/annotations","value":{"sandboxctl.io/created-by":"alice"}}]"""));
    }

    [TestCase("DELETE", null)]
    [TestCase("UPDATE", "status")]
    public void OtherOperationsAndSubresources_PassUnchanged(string operation, string? subResource)
    {
        var subject = Subject(operation, """{"metadata":{"annotations":{"sandboxctl.io/created-by":"mallory"}}}""", "{}", Alice) with { SubResource = subResource };

        Assert.That(CreatorReviewer.Sandboxes().Review(subject) is { Allowed: true, Patch: null });
    }

    [TestCase("""[]""", "object:")]
    [TestCase("""{"metadata":"x"}""", "object.metadata:")]
    [TestCase("""{"metadata":{"annotations":[]}}""", "object.metadata.annotations:")]
    public void Create_MalformedObject_IsRefusedNamingTheField(string incoming, string field)
    {
        var verdict = CreatorReviewer.Sandboxes().Review(Subject("CREATE", incoming, null, Alice));

        Assert.That((verdict.Allowed, verdict.Code), Is.EqualTo((false, 400)));
        Assert.That(verdict.Message, Does.StartWith(field));
    }

    [Test]
    public void Create_PreviewGrantByAnAdmin_RecordsCreatorAndOnlyTheAdminGroups()
    {
        var user = new AdmissionUser("carol@example.com", "c-1", ["system:authenticated", "preview-admins", "shop-developers", "preview-admins"]);
        var verdict = CreatorReviewer.PreviewGrants(["preview-admins", "platform"]).Review(Subject("CREATE", """{"metadata":{"annotations":{"sandboxctl.io/created-by-groups":"forged"}}}""", null, user) with { Resource = "previewgrants" });

        Assert.That(verdict.Patch!.ToJsonString(), Does.Contain("\"path\":\"/metadata/annotations/sandboxctl.io~1created-by-groups\",\"value\":\"preview-admins\""));
        Assert.That(verdict.Patch!.ToJsonString(), Does.Contain("\"value\":\"carol@example.com\""));
    }

    [Test]
    public void Create_PreviewGrantByANonAdmin_RemovesAForgedGroupsAnnotation()
    {
        var verdict = CreatorReviewer.PreviewGrants(["preview-admins"]).Review(Subject("CREATE", """{"metadata":{"annotations":{"sandboxctl.io/created-by-groups":"preview-admins"}}}""", null, Alice));

        Assert.That(verdict.Patch!.ToJsonString(), Does.Contain("{\"op\":\"remove\",\"path\":\"/metadata/annotations/sandboxctl.io~1created-by-groups\"}"));
    }

    [Test]
    public void Update_PreviewGrantGroupsRewritten_StoredGroupsPutBack()
    {
        var verdict = CreatorReviewer.PreviewGrants(["preview-admins"]).Review(Subject(
            "UPDATE",
            """{"metadata":{"annotations":{"sandboxctl.io/created-by":"alice","sandboxctl.io/created-by-groups":"preview-admins"}}}""",
            """{"metadata":{"annotations":{"sandboxctl.io/created-by":"alice"}}}""",
            Alice));

        Assert.That(verdict.Patch!.ToJsonString(), Does.Contain("{\"op\":\"remove\",\"path\":\"/metadata/annotations/sandboxctl.io~1created-by-groups\"}"));
    }

    [Test]
    public void LocalWorkload_CreatedByLocalConnect_RecordsTheDeveloper_AForceTakeoverKeepsTheFirstOwner()
    {
        var reviewer = CreatorReviewer.LocalWorkloads();
        var created = reviewer.Review(Subject("CREATE", """{"metadata":{"name":"cart-dev"},"spec":{"previews":[{"port":8080,"access":"personal"}]}}""", null, Alice) with { Resource = "localworkloads" });
        var takenOver = reviewer.Review(Subject(
            "UPDATE", """{"metadata":{"annotations":{"sandboxctl.io/created-by":"bob","sandboxctl.io/created-by-uid":"uid-b"}}}""",
            """{"metadata":{"annotations":{"sandboxctl.io/created-by":"alice","sandboxctl.io/created-by-uid":"uid-a"}}}""", new AdmissionUser("bob", "uid-b", [])) with { Resource = "localworkloads" });

        Assert.Multiple(() =>
        {
            Assert.That(reviewer.Resource, Is.EqualTo("localworkloads"));
            Assert.That(created.Patch!.ToJsonString(), Is.EqualTo("""[{"op":"add","path":"/metadata/annotations","value":{"sandboxctl.io/created-by":"alice","sandboxctl.io/created-by-uid":"uid-a"}}]"""));
            Assert.That(takenOver.Patch!.ToJsonString(), Is.EqualTo("""[{"op":"add","path":"/metadata/annotations/sandboxctl.io~1created-by","value":"alice"},{"op":"add","path":"/metadata/annotations/sandboxctl.io~1created-by-uid","value":"uid-a"}]"""));
        });
    }

    private static AdmissionSubject Subject(string operation, string incoming, string? stored, AdmissionUser user) =>
        new("uid-1", operation, "sandboxctl.io", "v1alpha1", "sandboxes", null, "shop", "x", JsonDocument.Parse(incoming).RootElement, stored is null ? null : JsonDocument.Parse(stored).RootElement, user, false);
}
