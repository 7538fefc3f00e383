{{/*
Default-deny NetworkPolicy of a component, when .Values.networkPolicy.enabled: the pods accept
only the listed peers and reach only the listed peers (plus DNS).
(dict "context" $ "component" "users" "port" 3000
      "from" (list "frontend")                        components allowed in on "port"
      "fromPeers" <yaml list of NetworkPolicyPeer>   extra peers allowed in (any namespace)
      "to" (list (dict "component" "auth" "port" 3000))   components this one calls
      "toPeers" <yaml list of egress rules>)              extra egress rules (external DB...)
*/}}
{{- define "common.networkPolicy" -}}
{{- $ctx := .context -}}
{{- if $ctx.Values.networkPolicy.enabled }}
{{- $sel := dict "context" $ctx "component" .component }}
{{- $global := $ctx.Values.global | default dict }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "common.names.component" $sel }}
  namespace: {{ include "common.names.namespace" $ctx }}
  labels:
    {{- include "common.labels.standard" $sel | nindent 4 }}
  {{- include "common.annotations" (dict "context" $ctx) | nindent 2 }}
spec:
  podSelector:
    matchLabels:
      {{- include "common.labels.selector" $sel | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  {{- if not (or .from .fromPeers (and $ctx.Values.metrics $ctx.Values.metrics.serviceMonitor.enabled)) }}
  # Nothing comes in.
  ingress: []
  {{- else }}
  ingress:
    {{- if or .from .fromPeers }}
    - ports:
        - port: {{ .port }}
          protocol: TCP
      from:
        {{- range .from }}
        - podSelector:
            matchLabels:
              {{- include "common.labels.selector" (dict "context" $ctx "component" .) | nindent 14 }}
        {{- end }}
        {{- with .fromPeers }}
        {{- . | nindent 8 }}
        {{- end }}
    {{- end }}
    {{- if and $ctx.Values.metrics $ctx.Values.metrics.serviceMonitor.enabled }}
    # Prometheus scrapes /metrics.
    - ports:
        - port: {{ .port }}
          protocol: TCP
      from:
        - namespaceSelector:
            {{- toYaml $ctx.Values.networkPolicy.metricsNamespaceSelector | nindent 12 }}
    {{- end }}
  {{- end }}
  egress:
    # DNS, wherever the cluster runs it (kube-dns, node-local-dns).
    - ports:
        - port: 53
          protocol: UDP
        - port: 53
          protocol: TCP
    {{- range .to }}
    - ports:
        - port: {{ .port }}
          protocol: TCP
      to:
        - podSelector:
            matchLabels:
              {{- include "common.labels.selector" (dict "context" $ctx "component" .component) | nindent 14 }}
    {{- end }}
    {{- with .toPeers }}
    {{- . | nindent 4 }}
    {{- end }}
    {{- if $ctx.Values.networkPolicy.allowExternalEgress }}
    # networkPolicy.allowExternalEgress: any destination (external APIs, SMTP, an IdP...).
    - {}
    {{- end }}
{{- end }}
{{- end -}}
