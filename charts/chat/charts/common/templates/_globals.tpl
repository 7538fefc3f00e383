{{/*
The umbrella's global defaults, for a subchart rendered or linted alone (`helm lint
--with-subcharts`, `helm template charts/chat/charts/auth`): Helm passes globals down from a
parent only, so without one .Values.global is empty. Every subchart template starts with
{{ include "common.globals" . }}, which lays the values given (the umbrella's, a parent's, -f)
over these. They must equal charts/chat/values.yaml's global section: scripts/chart/ci.sh
renders each subchart alone with and without it and requires the same output.
*/}}
{{- define "common.globals.defaults" -}}
imageRegistry: ''
imageTag: ''
imagePullPolicy: IfNotPresent
imagePullSecrets: []
fullnameOverride: ''
commonLabels: {}
commonAnnotations: {}
namespaceOverride: ''
compatibility:
  openshift:
    adaptSecurityContext: auto
clusterDomain: cluster.local
gitops: false
trustProxy: 1
uploads:
  maxBytes: 26214400
jwt:
  issuer: chat-auth
  audience: chat
database:
  host: ''
  port: 5432
  name: chat
  user: chat
  existingSecret: ''
  passwordKey: password
  ssl: false
redis:
  host: ''
  port: 6379
  existingSecret: ''
  passwordKey: redis-password
  tls: false
migrations:
  initContainer: true
  job: true
  attempts: 60
  logLevel: info
  backoffLimit: 3
  activeDeadlineSeconds: 600
  image:
    registry: ''
    repository: chat-migrate
    tag: ''
    digest: ''
    pullPolicy: ''
  resources:
    requests:
      cpu: 50m
      memory: 128Mi
    limits:
      memory: 256Mi
{{- end -}}

{{- define "common.globals" -}}
{{- $_ := set .Values "global" (mergeOverwrite (include "common.globals.defaults" . | fromYaml) (deepCopy (.Values.global | default dict))) -}}
{{- end -}}
