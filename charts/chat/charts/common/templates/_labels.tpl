{{/*
Labels. Selectors use only the stable ones (name, instance, component); version and chart
change on every upgrade and stay out of selectors.
Call with (dict "context" $ "component" "auth").
*/}}
{{- define "common.labels.selector" -}}
app.kubernetes.io/name: {{ include "common.names.name" .context }}
app.kubernetes.io/instance: {{ .context.Release.Name | quote }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "common.labels.standard" -}}
{{ include "common.labels.selector" . }}
app.kubernetes.io/part-of: chat
app.kubernetes.io/version: {{ .context.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .context.Release.Service }}
helm.sh/chart: {{ include "common.names.chart" .context }}
{{- with (.context.Values.global | default dict).commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
metadata.annotations: global.commonAnnotations and the object's own ("annotations", a map;
the object's win). Prints nothing when both are empty. (dict "context" $ "annotations" (dict ...))
*/}}
{{- define "common.annotations" -}}
{{- $all := merge (deepCopy (.annotations | default dict)) (deepCopy ((.context.Values.global | default dict).commonAnnotations | default dict)) -}}
{{- with $all }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
