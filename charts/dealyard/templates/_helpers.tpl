{{- define "dealyard.labels" -}}
app.kubernetes.io/name: dealyard
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: dealyard
{{- end -}}

{{- define "dealyard.image" -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}

{{/* Cluster-scoped objects carry the namespace: one release name may be installed in several. */}}
{{- define "dealyard.clusterName" -}}
{{ .Release.Namespace }}-{{ .Release.Name }}-ingress
{{- end -}}
