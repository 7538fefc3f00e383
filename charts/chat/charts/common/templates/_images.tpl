{{/*
Image reference: (dict "context" $ "image" .Values.image).
registry: image.registry, else global.imageRegistry; tag: image.tag, else global.imageTag,
else the chart's appVersion; a digest, when set, pins the image.
*/}}
{{- define "common.images.image" -}}
{{- $global := .context.Values.global | default dict -}}
{{- $registry := .image.registry | default (get $global "imageRegistry") | default "" | trimSuffix "/" -}}
{{- $tag := .image.tag | default (get $global "imageTag") | default .context.Chart.AppVersion | toString -}}
{{- $ref := .image.repository -}}
{{- if $registry }}{{ $ref = printf "%s/%s" $registry $ref }}{{ end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref $tag -}}
{{- end -}}
{{- end -}}

{{- define "common.images.pullPolicy" -}}
{{- $global := .context.Values.global | default dict -}}
{{- .image.pullPolicy | default (get $global "imagePullPolicy") | default "IfNotPresent" -}}
{{- end -}}

{{- define "common.images.pullSecrets" -}}
{{- $global := .Values.global | default dict -}}
{{- with (get $global "imagePullSecrets") }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
