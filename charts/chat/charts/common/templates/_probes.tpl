{{/*
HTTP probes on the health paths: (dict "context" $ "live" "/health/live" "ready" "/health/ready").
Startup gives a slow first start (migrations, cold JIT) room without a long liveness delay.
Timings come from .Values.probes.{startup,liveness,readiness}.
*/}}
{{- define "common.probes.http" -}}
{{- $p := .context.Values.probes -}}
startupProbe:
  httpGet:
    path: {{ .live }}
    port: http
  {{- toYaml $p.startup | nindent 2 }}
livenessProbe:
  httpGet:
    path: {{ .live }}
    port: http
  {{- toYaml $p.liveness | nindent 2 }}
readinessProbe:
  httpGet:
    path: {{ .ready }}
    port: http
  {{- toYaml $p.readiness | nindent 2 }}
{{- end -}}

{{/* Exec probes (databases): (dict "context" $ "command" (list ...)). */}}
{{- define "common.probes.exec" -}}
{{- $p := .context.Values.probes -}}
{{- $cmd := toYaml .command | nindent 4 -}}
startupProbe:
  exec:
    command: {{ $cmd }}
  {{- toYaml $p.startup | nindent 2 }}
livenessProbe:
  exec:
    command: {{ $cmd }}
  {{- toYaml $p.liveness | nindent 2 }}
readinessProbe:
  exec:
    command: {{ $cmd }}
  {{- toYaml $p.readiness | nindent 2 }}
{{- end -}}
