{{/*
Restricted Pod Security: non-root numeric user, no privilege escalation, every capability
dropped, RuntimeDefault seccomp, read-only root filesystem (writable emptyDir at /tmp).
Input: the security context from common.security.context ({runAsUser, runAsGroup, fsGroup},
without them on OpenShift).
*/}}
{{- define "common.security.pod" -}}
runAsNonRoot: true
{{- with .runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
{{- with .fsGroup }}
fsGroup: {{ . }}
{{- end }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "common.security.container" -}}
runAsNonRoot: true
{{- with .runAsUser }}
runAsUser: {{ . }}
{{- end }}
{{- with .runAsGroup }}
runAsGroup: {{ . }}
{{- end }}
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

{{/*
The numeric ids to run as, adapted to the platform (bitnami's adaptSecurityContext):
OpenShift's restricted SCCs assign each namespace its own UID range and reject a fixed one, so
with global.compatibility.openshift.adaptSecurityContext "force", or "auto" on a cluster that
serves security.openshift.io/v1, runAsUser, runAsGroup and fsGroup are dropped (runAsNonRoot
and the rest stay). (dict "context" $ "securityContext" .Values.securityContext) -> YAML.
*/}}
{{- define "common.security.context" -}}
{{- $sc := deepCopy .securityContext -}}
{{- $ctx := .context -}}
{{- $mode := dig "compatibility" "openshift" "adaptSecurityContext" "auto" ($ctx.Values.global | default dict) -}}
{{- if or (eq $mode "force") (and (eq $mode "auto") ($ctx.Capabilities.APIVersions.Has "security.openshift.io/v1")) -}}
{{- $sc = omit $sc "runAsUser" "runAsGroup" "fsGroup" -}}
{{- end -}}
{{- toYaml $sc -}}
{{- end -}}
