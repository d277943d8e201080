{{/*
Labels of every object of the chart.
*/}}
{{- define "xds-control-plane.labels" -}}
app.kubernetes.io/part-of: sandboxctl
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/*
The control plane's xDS address as data planes dial it.
*/}}
{{- define "xds-control-plane.xdsAddress" -}}
{{ printf "xds-control-plane.%s.svc:%v" .Release.Namespace .Values.ports.xds }}
{{- end }}

{{/*
What the control plane does in the namespaces it watches (all of them, or each of watchNamespaces): read Services,
EndpointSlices and the product's kinds (the tunnel broker reads one LocalWorkload when its agent connects, to check
the secret hash); write RouteGroup, Sandbox and LocalWorkload status; the Sandbox controller manages fork Deployments
and Services (copied from baselines it reads), the Sandbox finalizer and TTL deletion, and records Events.
Bound by a ClusterRole, or by a Role in each watched namespace. The static YAML below is what
tests/XdsControlPlane.Kubernetes.Tests/Chart/ChartRbacTests checks against the requests the server really makes.
*/}}
{{- define "xds-control-plane.watchedRules" -}}
- apiGroups: [""]
  resources: [services]
  verbs: [get, list, watch, create, patch, delete]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
- apiGroups: [apps]
  resources: [deployments]
  verbs: [get, list, watch, create, update, delete]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
- apiGroups: [sandboxctl.io]
  resources: [routegroups, sandboxes, localworkloads, previewgrants]
  verbs: [list, watch]
- apiGroups: [sandboxctl.io]
  resources: [localworkloads]
  verbs: [get]
- apiGroups: [sandboxctl.io]
  resources: [sandboxes]
  verbs: [get, patch, delete]
- apiGroups: [sandboxctl.io]
  resources: [routegroups/status, sandboxes/status, localworkloads/status]
  verbs: [patch]
{{- end }}
