{{/* PodDisruptionBudget of a component, when .Values.pdb.enabled: (dict "context" $ "component" "auth"). */}}
{{- define "common.pdb" -}}
{{- $v := .context.Values -}}
{{- if $v.pdb.enabled }}
{{- $sel := dict "context" .context "component" .component }}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "common.names.component" $sel }}
  namespace: {{ include "common.names.namespace" .context }}
  labels:
    {{- include "common.labels.standard" $sel | nindent 4 }}
  {{- include "common.annotations" (dict "context" .context) | nindent 2 }}
spec:
  {{- if $v.pdb.minAvailable }}
  minAvailable: {{ $v.pdb.minAvailable }}
  {{- else }}
  maxUnavailable: {{ $v.pdb.maxUnavailable | default 1 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "common.labels.selector" $sel | nindent 6 }}
{{- end }}
{{- end -}}

{{/* HorizontalPodAutoscaler (autoscaling/v2), when .Values.autoscaling.enabled. */}}
{{- define "common.hpa" -}}
{{- $v := .context.Values -}}
{{- if $v.autoscaling.enabled }}
{{- $sel := dict "context" .context "component" .component }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "common.names.component" $sel }}
  namespace: {{ include "common.names.namespace" .context }}
  labels:
    {{- include "common.labels.standard" $sel | nindent 4 }}
  {{- include "common.annotations" (dict "context" .context) | nindent 2 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "common.names.component" $sel }}
  minReplicas: {{ $v.autoscaling.minReplicas }}
  maxReplicas: {{ $v.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $v.autoscaling.targetCPUUtilizationPercentage }}
    {{- with $v.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
{{- end }}
{{- end -}}

{{/* ServiceMonitor (Prometheus Operator) scraping /metrics, when .Values.metrics.serviceMonitor.enabled. */}}
{{- define "common.serviceMonitor" -}}
{{- $sm := .context.Values.metrics.serviceMonitor -}}
{{- if $sm.enabled }}
{{- $sel := dict "context" .context "component" .component }}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "common.names.component" $sel }}
  namespace: {{ include "common.names.namespace" .context }}
  labels:
    {{- include "common.labels.standard" $sel | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- include "common.annotations" (dict "context" .context) | nindent 2 }}
spec:
  selector:
    matchLabels:
      {{- include "common.labels.selector" $sel | nindent 6 }}
  namespaceSelector:
    matchNames:
      - {{ include "common.names.namespace" .context }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end }}
{{- end -}}
