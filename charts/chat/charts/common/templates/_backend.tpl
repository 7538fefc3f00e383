{{/*
What every NestJS service (auth, users, chat) shares: its environment, the migration init
container, and its NetworkPolicy peers.
*/}}

{{/* Environment every service gets. */}}
{{- define "common.backend.env" -}}
- name: PORT
  value: "3000"
- name: LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: LOG_FORMAT
  value: json
- name: TRUST_PROXY
  value: {{ .Values.global.trustProxy | quote }}
- name: SHUTDOWN_GRACE_MS
  value: {{ include "common.shutdownGraceMs" . | quote }}
- name: DATABASE_POOL_SIZE
  value: {{ .Values.databasePoolSize | quote }}
{{ include "common.database.env" . }}
{{- include "common.redis.env" . }}
{{- end -}}

{{/* The token claims shared by the signer (auth) and the verifiers (users, chat). */}}
{{- define "common.backend.jwtClaims" -}}
- name: JWT_ISSUER
  value: {{ .Values.global.jwt.issuer | quote }}
- name: JWT_AUDIENCE
  value: {{ .Values.global.jwt.audience | quote }}
{{- end -}}

{{/* Where users and chat fetch auth's public keys. */}}
{{- define "common.backend.jwksEnv" -}}
- name: AUTH_JWKS_URL
  value: {{ printf "http://%s:3000/api/auth/jwks.json" (include "common.names.serviceHost" (dict "context" . "component" "auth")) | quote }}
{{- end -}}

{{/* User-supplied extra variables (.Values.extraEnv, a name: value map). */}}
{{- define "common.backend.extraEnv" -}}
{{- range $k, $v := .Values.extraEnv }}
- name: {{ $k }}
  value: {{ $v | toString | quote }}
{{- end }}
{{- end -}}

{{/*
The migration init container (global.migrations.initContainer): applies every module's
migrations before the service starts, retrying while the database comes up (on a first
install the chart's PostgreSQL starts alongside). Safe in parallel: the migrator holds a
PostgreSQL advisory lock; once applied it is a no-op.
*/}}
{{- define "common.backend.migrateInitContainer" -}}
{{- $m := .Values.global.migrations -}}
{{- if $m.initContainer }}
- name: migrate
  image: {{ include "common.images.image" (dict "context" . "image" $m.image) }}
  imagePullPolicy: {{ include "common.images.pullPolicy" (dict "context" . "image" $m.image) }}
  command: ["/bin/sh", "-c"]
  args:
    - |
      for i in $(seq 1 {{ $m.attempts }}); do
        node backend/dist/apps/migrate.main.js && exit 0
        echo "migrate: attempt $i failed, retrying in 5 s" >&2
        sleep 5
      done
      exit 1
  env:
    {{- include "common.backend.migrateEnv" . | nindent 4 }}
  resources:
    {{- toYaml $m.resources | nindent 4 }}
  securityContext:
    {{- include "common.security.container" (include "common.security.context" (dict "context" . "securityContext" .Values.securityContext) | fromYaml) | nindent 4 }}
  volumeMounts:
    {{- include "common.security.tmpMount" . | nindent 4 }}
{{- end }}
{{- end -}}

{{/* The migrator's environment (its config accepts only these). */}}
{{- define "common.backend.migrateEnv" -}}
- name: LOG_LEVEL
  value: {{ .Values.global.migrations.logLevel | quote }}
- name: LOG_FORMAT
  value: json
{{ include "common.database.env" . }}
{{- end -}}

{{/* NetworkPolicy of a service: in from the gateway (+ "from"), out to the stores (+ "to"). */}}
{{- define "common.backend.networkPolicy" -}}
{{- $ctx := .context -}}
{{- $toPeers := include "common.database.egress" $ctx -}}
{{- $toPeers = printf "%s\n%s" $toPeers (include "common.stores.egress" (dict "context" $ctx "redis" true)) -}}
{{- $to := .to | default list -}}
{{- if not $ctx.Values.global.redis.host -}}
{{- $to = append $to (dict "component" "redis" "port" 6379) -}}
{{- end -}}
{{- include "common.networkPolicy" (dict "context" $ctx "component" .component "port" 3000 "from" (concat (list "frontend") (.from | default list)) "fromPeers" .fromPeers "to" $to "toPeers" (trim $toPeers)) -}}
{{- end -}}
