{{/*
Service of a component: (dict "context" $ "component" "auth" "port" 3000 "type" "ClusterIP"
"nodePort" 0 "headless" false "nameSuffix" "").
*/}}
{{- define "common.service" -}}
{{- $sel := dict "context" .context "component" .component -}}
{{- $meta := dict "context" .context "component" (.labelComponent | default .component) -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ printf "%s%s" (include "common.names.component" $sel) (.nameSuffix | default "") }}
  namespace: {{ include "common.names.namespace" .context }}
  labels:
    {{- include "common.labels.standard" $meta | nindent 4 }}
  {{- include "common.annotations" (dict "context" .context) | nindent 2 }}
spec:
  {{- if .headless }}
  type: ClusterIP
  clusterIP: None
  publishNotReadyAddresses: false
  {{- else }}
  type: {{ .type | default "ClusterIP" }}
  {{- end }}
  selector:
    {{- include "common.labels.selector" $sel | nindent 4 }}
  ports:
    - name: {{ .portName | default "http" }}
      port: {{ .port }}
      targetPort: {{ .portName | default "http" }}
      protocol: TCP
      {{- if and (eq (.type | default "ClusterIP") "NodePort") .nodePort }}
      nodePort: {{ .nodePort }}
      {{- end }}
{{- end -}}
