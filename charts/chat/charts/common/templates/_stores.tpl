{{/*
Where the shared stores are, from global.database and global.redis (visible to every
subchart). An external host is used as given. An empty host means the chart's own subchart, by
its fully qualified Service name: PostgreSQL at "<prefix>-postgresql-rw.<ns>.svc.<clusterDomain>"
(the StatefulSet's Service, or CloudNativePG's read-write Service of the Cluster named
"<prefix>-postgresql"), Redis at "<prefix>-redis.<ns>.svc.<clusterDomain>".
*/}}
{{- define "common.database.host" -}}
{{- .Values.global.database.host | default (include "common.names.serviceHost" (dict "context" . "component" "postgresql" "suffix" "-rw")) -}}
{{- end -}}

{{/* The Secret holding the database password: global.database.existingSecret, else "<prefix>-database" (made by the postgresql subchart). */}}
{{- define "common.database.secretName" -}}
{{- .Values.global.database.existingSecret | default (include "common.names.component" (dict "context" . "component" "database")) -}}
{{- end -}}

{{- define "common.database.secretKey" -}}
{{- if .Values.global.database.existingSecret }}{{ .Values.global.database.passwordKey }}{{ else }}password{{ end -}}
{{- end -}}

{{/*
DATABASE_PASSWORD from the Secret, never in the pod spec, and DATABASE_URL without it: the
processes put it into the URL themselves, percent-encoded, so any password works.
*/}}
{{- define "common.database.env" -}}
{{- $db := .Values.global.database -}}
- name: DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "common.database.secretName" . }}
      key: {{ include "common.database.secretKey" . }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s@%s:%d/%s" $db.user (include "common.database.host" .) (int $db.port) $db.name | quote }}
- name: DATABASE_SSL
  value: {{ $db.ssl | quote }}
{{- end -}}

{{- define "common.redis.host" -}}
{{- .Values.global.redis.host | default (include "common.names.serviceHost" (dict "context" . "component" "redis")) -}}
{{- end -}}

{{- define "common.redis.secretName" -}}
{{- .Values.global.redis.existingSecret | default (include "common.names.component" (dict "context" . "component" "redis")) -}}
{{- end -}}

{{/* True when a password protects Redis: always for the chart's own, for an external one when existingSecret is set. */}}
{{- define "common.redis.auth" -}}
{{- if or (not .Values.global.redis.host) .Values.global.redis.existingSecret }}true{{ end -}}
{{- end -}}

{{/*
REDIS_URL (and its password input) for every service, one pod or several: auth announces ended
sessions (logout, refresh-token reuse) through Redis and users and chat refuse them at once;
Socket.IO fan-out and rate-limit counters are shared through it too.
*/}}
{{- define "common.redis.env" -}}
{{- $r := .Values.global.redis -}}
{{- $scheme := ternary "rediss" "redis" (eq (toString $r.tls) "true") -}}
{{- if include "common.redis.auth" . }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "common.redis.secretName" . }}
      key: {{ $r.passwordKey }}
{{- end }}
- name: REDIS_URL
  value: {{ printf "%s://%s:%d" $scheme (include "common.redis.host" .) (int $r.port) | quote }}
- name: REDIS_KEY_PREFIX
  value: {{ include "common.names.prefix" . | trunc 32 | trimSuffix "-" | quote }}
{{- end -}}

{{/* Egress to the stores, for NetworkPolicies: in-chart pods by label, external ones by port. */}}
{{- define "common.stores.egress" -}}
{{- $g := .context.Values.global -}}
{{- if $g.database.host }}
- ports:
    - port: {{ $g.database.port }}
      protocol: TCP
{{- end }}
{{- if and .redis $g.redis.host }}
- ports:
    - port: {{ $g.redis.port }}
      protocol: TCP
{{- end }}
{{- end -}}

{{/* Egress rule to the chart's own PostgreSQL: the StatefulSet's pods or CloudNativePG's instances. */}}
{{- define "common.database.egress" -}}
{{- if not .Values.global.database.host }}
- ports:
    - port: 5432
      protocol: TCP
  to:
    - podSelector:
        matchLabels:
          {{- include "common.labels.selector" (dict "context" . "component" "postgresql") | nindent 10 }}
    - podSelector:
        matchLabels:
          cnpg.io/cluster: {{ include "common.names.component" (dict "context" . "component" "postgresql") }}
{{- end }}
{{- end -}}
