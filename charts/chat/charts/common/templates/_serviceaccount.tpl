{{/*
A ServiceAccount per component (serviceAccount.create): the pods run as their own identity, not
the namespace's default, and never mount its token (automountServiceAccountToken: false here
and on the pods). (dict "context" $ "component" "auth")
*/}}
{{- define "common.serviceAccount" -}}
{{- $sa := .context.Values.serviceAccount -}}
{{- if $sa.create }}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "common.serviceAccountName" .context }}
  namespace: {{ include "common.names.namespace" .context }}
  labels:
    {{- include "common.labels.standard" . | nindent 4 }}
  {{- include "common.annotations" (dict "context" .context "annotations" $sa.annotations) | nindent 2 }}
automountServiceAccountToken: false
{{- end }}
{{- end -}}

{{/* The pods' ServiceAccount: serviceAccount.name, else "<prefix>-<chart>" when created, else "default". */}}
{{- define "common.serviceAccountName" -}}
{{- $sa := .Values.serviceAccount -}}
{{- if $sa.create -}}
{{- $sa.name | default (include "common.names.fullname" .) -}}
{{- else -}}
{{- $sa.name | default "default" -}}
{{- end -}}
{{- end -}}
