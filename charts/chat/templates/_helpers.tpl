{{/*
The umbrella's own pods (migration Job, test pod) run the chat images' numeric user.
*/}}
{{- define "chat.securityContext" -}}
{{- include "common.security.context" (dict "context" . "securityContext" (dict "runAsUser" 10001 "runAsGroup" 10001 "fsGroup" 10001)) -}}
{{- end -}}

{{/* A subchart's values seen from the umbrella, as a context for the common helpers. */}}
{{- define "chat.multiReplica" -}}
{{- include "common.multiReplica" (dict "Values" (index .context.Values .component)) -}}
{{- end -}}

{{- define "chat.frontendUrl" -}}
{{- printf "http://%s:%v" (include "common.names.serviceHost" (dict "context" . "component" "frontend")) .Values.frontend.service.port -}}
{{- end -}}

{{/*
Every impossible combination of values, reported at once (bitnami's validateValues shape).
*/}}
{{- define "chat.validateValues" -}}
{{- $v := .Values -}}
{{- $g := $v.global -}}
{{- $msgs := list -}}
{{- $pg := $v.postgresql -}}
{{- $cnpg := and $pg.cnpg $pg.cnpg.enabled -}}
{{- if and (not $pg.enabled) (not $g.database.host) -}}
{{- $msgs = append $msgs "database: none configured. Enable the chart's own (postgresql.enabled=true) or point at one (global.database.host + global.database.existingSecret)." -}}
{{- end -}}
{{- if and $pg.enabled $g.database.host -}}
{{- $msgs = append $msgs (printf "database: global.database.host=%s (external) and postgresql.enabled=true both set; pick one (postgresql.enabled=false for an external database)." $g.database.host) -}}
{{- end -}}
{{- if and $cnpg $g.database.host -}}
{{- $msgs = append $msgs "database: postgresql.cnpg.enabled=true and an external global.database.host both set; pick one." -}}
{{- end -}}
{{- if and $cnpg (not $pg.enabled) -}}
{{- $msgs = append $msgs "database: postgresql.cnpg.enabled=true needs postgresql.enabled=true (the CloudNativePG Cluster is rendered by the postgresql subchart)." -}}
{{- end -}}
{{- if and $cnpg (dig "backup" "enabled" false $pg.cnpg) (not (dig "backup" "objectStore" "destinationPath" "" $pg.cnpg)) -}}
{{- $msgs = append $msgs "database: postgresql.cnpg.backup.enabled=true needs postgresql.cnpg.backup.objectStore.destinationPath (and its credentials)." -}}
{{- end -}}
{{- if and $g.database.host (not $g.database.existingSecret) -}}
{{- $msgs = append $msgs "database: an external database needs global.database.existingSecret (the password is never taken from values)." -}}
{{- end -}}
{{- if and $cnpg $g.database.existingSecret (ne $g.database.passwordKey "password") -}}
{{- $msgs = append $msgs "database: with CloudNativePG, global.database.existingSecret must be a basic-auth Secret (keys username, password): set global.database.passwordKey=password." -}}
{{- end -}}
{{- $redis := or $v.redis.enabled $g.redis.host -}}
{{- if and (or $v.auth.enabled $v.users.enabled $v.chat.enabled) (not $redis) -}}
{{- $msgs = append $msgs "redis: none configured. auth, users and chat are separate pods: a logout reaches the others, and messages and rate limits reach every chat pod, only through Redis; set redis.enabled=true or global.redis.host." -}}
{{- end -}}
{{- if and $v.redis.enabled $g.redis.host -}}
{{- $msgs = append $msgs "redis: redis.enabled=true and an external global.redis.host both set; pick one." -}}
{{- end -}}
{{- $m := $g.migrations -}}
{{- if and (not $m.initContainer) (not $m.job) -}}
{{- $msgs = append $msgs "migrations: global.migrations.initContainer and global.migrations.job are both false; nothing would create the tables." -}}
{{- end -}}
{{- if and (not $m.initContainer) (not $g.database.host) -}}
{{- $msgs = append $msgs "migrations: global.migrations.initContainer=false needs an external database; with the chart's own PostgreSQL a pre-install Job would run before the database exists." -}}
{{- end -}}
{{- if $g.gitops -}}
{{- /* Argo CD renders without lookup (a generated secret would change on every sync) and runs pre-upgrade hooks as PreSync, also on the first sync. */ -}}
{{- if and $v.auth.enabled (not (dig "jwt" "existingSecret" "" $v.auth)) -}}
{{- $msgs = append $msgs "gitops: global.gitops=true needs auth.jwt.existingSecret (a generated key would change on every render without lookup)." -}}
{{- end -}}
{{- if and $pg.enabled (not $g.database.existingSecret) -}}
{{- $msgs = append $msgs "gitops: global.gitops=true needs global.database.existingSecret (a generated password would change on every render without lookup)." -}}
{{- end -}}
{{- if and $v.redis.enabled (not $g.redis.existingSecret) -}}
{{- $msgs = append $msgs "gitops: global.gitops=true needs global.redis.existingSecret (a generated password would change on every render without lookup)." -}}
{{- end -}}
{{- if and $m.job (not $g.database.host) -}}
{{- $msgs = append $msgs "gitops: global.gitops=true with the chart's own PostgreSQL needs global.migrations.job=false (Argo CD runs the pre-upgrade hook as PreSync, before the database exists on a first sync); the init containers migrate." -}}
{{- end -}}
{{- end -}}
{{- if and (or $v.users.enabled $v.chat.enabled) (not $v.auth.enabled) -}}
{{- $msgs = append $msgs "auth: users and chat verify tokens with auth's JWKS; auth.enabled=false leaves them without keys." -}}
{{- end -}}
{{- range $c := list "auth" "users" "chat" "frontend" -}}
{{- $cv := index $v $c -}}
{{- if and $cv.enabled (lt (sub (sub (int $cv.terminationGracePeriodSeconds) (int $cv.preStopSleepSeconds)) 5) 1) -}}
{{- $msgs = append $msgs (printf "%s: terminationGracePeriodSeconds=%v leaves no drain time after preStopSleepSeconds=%v and 5 s to exit; raise it." $c $cv.terminationGracePeriodSeconds $cv.preStopSleepSeconds) -}}
{{- end -}}
{{- if and $cv.enabled $cv.pdb.enabled $cv.pdb.minAvailable (not $cv.autoscaling.enabled) (kindIs "float64" $cv.pdb.minAvailable) (ge (int $cv.pdb.minAvailable) (int $cv.replicaCount)) -}}
{{- $msgs = append $msgs (printf "%s: pdb.minAvailable=%v with replicaCount=%v would block every node drain." $c $cv.pdb.minAvailable $cv.replicaCount) -}}
{{- end -}}
{{- end -}}
{{- if and $v.httpRoute.enabled (not $v.httpRoute.parentRefs) -}}
{{- $msgs = append $msgs "httpRoute: httpRoute.enabled=true needs httpRoute.parentRefs (the Gateway to attach to)." -}}
{{- end -}}
{{- if and (or $v.ingress.enabled $v.httpRoute.enabled $v.tests.enabled) (not $v.frontend.enabled) -}}
{{- $msgs = append $msgs "frontend: ingress, httpRoute and tests all go through the gateway; frontend.enabled=false leaves them without a backend." -}}
{{- end -}}
{{- if $msgs -}}
{{- printf "\nVALUES VALIDATION:\n  - %s" (join "\n  - " $msgs) | fail -}}
{{- end -}}
{{- end -}}
