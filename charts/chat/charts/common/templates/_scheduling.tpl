{{/*
Placement: nodeSelector, tolerations, affinity, priority, and (when the component can run
more than one pod) topology spread over zones and nodes, selecting on stable labels.
Input: (dict "context" $ "component" "chat").
*/}}
{{- define "common.scheduling" -}}
{{- $v := .context.Values -}}
{{- with $v.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $v.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- if eq (include "common.multiReplica" .context) "true" }}
topologySpreadConstraints:
  - maxSkew: 1
    topologyKey: topology.kubernetes.io/zone
    whenUnsatisfiable: ScheduleAnyway
    labelSelector:
      matchLabels:
        {{- include "common.labels.selector" . | nindent 8 }}
  - maxSkew: 1
    topologyKey: kubernetes.io/hostname
    whenUnsatisfiable: {{ $v.topologySpread.whenUnsatisfiable }}
    labelSelector:
      matchLabels:
        {{- include "common.labels.selector" . | nindent 8 }}
{{- end }}
{{- end -}}

{{/* "true" when this chart's component may run more than one pod (replicas or HPA). */}}
{{- define "common.multiReplica" -}}
{{- $v := .Values -}}
{{- $hpa := and $v.autoscaling $v.autoscaling.enabled -}}
{{- if or $hpa (gt (int ($v.replicaCount | default 1)) 1) }}true{{ else }}false{{ end -}}
{{- end -}}
