{{/*
Restricted Pod Security: non-root numeric user, no privilege escalation, every capability
dropped, RuntimeDefault seccomp, read-only root filesystem (writable emptyDir at /tmp).
Input: the chart's .Values.securityContext {runAsUser, runAsGroup, fsGroup}.
*/}}
{{- define "common.security.pod" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
fsGroup: {{ .fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "common.security.container" -}}
runAsNonRoot: true
runAsUser: {{ .runAsUser }}
runAsGroup: {{ .runAsGroup }}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The writable scratch directory every container gets. */}}
{{- define "common.security.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit | default "64Mi" }}
{{- end -}}
{{- define "common.security.tmpMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}
