{{/*
The Deployment of an HTTP component (auth, users, chat, frontend).
(dict "context" $ "component" "auth" "port" 3000 "live" "/health/live" "ready" "/health/ready"
      "env" <yaml list> "volumes" <yaml list> "volumeMounts" <yaml list>
      "initContainers" <yaml list> "checksums" (dict "checksum/secret" "...")
      "resources" <map, default .Values.resources> )
*/}}
{{- define "common.deployment" -}}
{{- $ctx := .context -}}
{{- $v := $ctx.Values -}}
{{- $sel := dict "context" $ctx "component" .component -}}
{{- $sc := include "common.security.context" (dict "context" $ctx "securityContext" $v.securityContext) | fromYaml -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.names.component" $sel }}
  namespace: {{ include "common.names.namespace" $ctx }}
  labels:
    {{- include "common.labels.standard" $sel | nindent 4 }}
  {{- include "common.annotations" (dict "context" $ctx) | nindent 2 }}
spec:
  {{- if not $v.autoscaling.enabled }}
  replicas: {{ $v.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
      maxUnavailable: 0
  selector:
    matchLabels:
      {{- include "common.labels.selector" $sel | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "common.labels.standard" $sel | nindent 8 }}
        {{- with $v.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        {{- range $k, $val := .checksums }}
        {{ $k }}: {{ $val | quote }}
        {{- end }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      automountServiceAccountToken: false
      serviceAccountName: {{ include "common.serviceAccountName" $ctx }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "common.security.pod" $sc | nindent 8 }}
      {{- include "common.images.pullSecrets" $ctx | nindent 6 }}
      {{- include "common.scheduling" $sel | nindent 6 }}
      {{- with .initContainers }}
      initContainers:
        {{- . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "common.images.image" (dict "context" $ctx "image" $v.image) }}
          imagePullPolicy: {{ include "common.images.pullPolicy" (dict "context" $ctx "image" $v.image) }}
          ports:
            - name: http
              containerPort: {{ .port }}
              protocol: TCP
          {{- with .env }}
          env:
            {{- . | nindent 12 }}
          {{- end }}
          {{- include "common.probes.http" (dict "context" $ctx "live" .live "ready" .ready) | nindent 10 }}
          lifecycle:
            preStop:
              exec:
                # Lets the endpoints controller and the gateway drop this pod before it drains.
                command: ["sleep", "{{ $v.preStopSleepSeconds }}"]
          resources:
            {{- toYaml (.resources | default $v.resources) | nindent 12 }}
          securityContext:
            {{- include "common.security.container" $sc | nindent 12 }}
          volumeMounts:
            {{- include "common.security.tmpMount" $ctx | nindent 12 }}
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- include "common.security.tmpVolume" $ctx | nindent 8 }}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/*
SHUTDOWN_GRACE_MS: the drain budget that fits in terminationGracePeriodSeconds after the
preStop sleep, keeping 5 s for the process to exit: (grace - preStop - 5) * 1000.
*/}}
{{- define "common.shutdownGraceMs" -}}
{{- $v := .Values -}}
{{- mul (sub (sub (int $v.terminationGracePeriodSeconds) (int $v.preStopSleepSeconds)) 5) 1000 -}}
{{- end -}}
