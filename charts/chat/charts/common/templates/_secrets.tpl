{{/*
A Secret value kept across upgrades: the existing Secret's key when the cluster has it
(`lookup`), else a new one. (dict "context" $ "name" "<secret>" "key" "password" "new" "<value>")
Returns the base64 value. `helm template` and --dry-run have no cluster, so they always show
a new value; the Secret in the cluster keeps its first one.
*/}}
{{- define "common.secrets.keep" -}}
{{- $existing := lookup "v1" "Secret" (include "common.names.namespace" .context) .name -}}
{{- if and $existing $existing.data (hasKey $existing.data .key) -}}
{{- index $existing.data .key -}}
{{- else -}}
{{- .new | b64enc -}}
{{- end -}}
{{- end -}}
