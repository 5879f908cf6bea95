{{- define "dealyard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: dealyard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dealyard
{{- end -}}

{{/*
The ingress pods' labels that Services, the PodDisruptionBudget and the default anti-affinity
select on. The Deployment's own selector stays instance + component (without name): a selector
cannot be changed, so adding a label to it would make `helm upgrade` of existing releases fail.
*/}}
{{- define "dealyard.ingressSelector" -}}
app.kubernetes.io/name: dealyard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: ingress
{{- end -}}

{{- define "dealyard.image" -}}
{{- $repo := .Values.image.repository -}}
{{- if contains "@" $repo -}}
{{ $repo }}
{{- else if .Values.image.digest -}}
{{ $repo }}{{ with .Values.image.tag }}:{{ . }}{{ end }}@{{ .Values.image.digest }}
{{- else -}}
{{ $repo }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/*
A name unique to this installation (release namespace and name) for objects that can meet another
installation's: cluster-scoped ones, and those in namespaces other than the release's. Plain
"<namespace>-<release>" is ambiguous (namespace a-b, release c = namespace a, release b-c), so a
hash of "<namespace>/<release>" follows; the readable part is cut so the name stays within 63
characters. Called with (list . "suffix").
*/}}
{{- define "dealyard.uniqueName" -}}
{{- $ctx := index . 0 -}}
{{- $suffix := index . 1 -}}
{{- $hash := printf "%s/%s" $ctx.Release.Namespace $ctx.Release.Name | sha256sum | trunc 8 -}}
{{- $room := sub 63 (add (len $suffix) 10) -}}
{{ printf "%s-%s" $ctx.Release.Namespace $ctx.Release.Name | trunc (int $room) | trimSuffix "-" }}-{{ $suffix }}-{{ $hash }}
{{- end -}}

{{/* ClusterRole and ClusterRoleBinding of the ingress. */}}
{{- define "dealyard.clusterName" -}}
{{ include "dealyard.uniqueName" (list . "ingress") }}
{{- end -}}

{{/* Where the ingress writes deals, their params Secrets, its Lease and Events. */}}
{{- define "dealyard.dealsNamespace" -}}
{{ default .Release.Namespace .Values.ingress.dealsNamespace }}
{{- end -}}

{{/*
The Role and RoleBinding in the deals namespace: in the release namespace, <release>-ingress (unique
there); elsewhere a namespace other installations' deals may share by mistake, so unique names.
*/}}
{{- define "dealyard.dealsRoleName" -}}
{{- if eq (include "dealyard.dealsNamespace" .) .Release.Namespace -}}
{{ .Release.Name }}-ingress
{{- else -}}
{{ include "dealyard.uniqueName" (list . "ingress-deals") }}
{{- end -}}
{{- end -}}

{{/* The Lease held by the replica that writes provider status (in the deals namespace). */}}
{{- define "dealyard.statusLease" -}}
{{- if eq (include "dealyard.dealsNamespace" .) .Release.Namespace -}}
{{ .Release.Name }}-provider-status
{{- else -}}
{{ include "dealyard.uniqueName" (list . "provider-status") }}
{{- end -}}
{{- end -}}

{{- define "dealyard.serviceAccount" -}}
{{ .Release.Name }}-ingress
{{- end -}}
