namespace XdsControlPlane.Server.Webhook;

/// <summary>
/// The webhook listener's current serving certificate (<see cref="ServingCertificateStore"/>). Written by one certificate
/// source (files, generated, a Kubernetes Secret), read by Kestrel and <c>/debug/webhook-ca</c>.
/// </summary>
internal sealed class WebhookCertificateStore : ServingCertificateStore;
