{{/*
Names. Every object is "<prefix>-<component>", prefix = global.fullnameOverride or the release
name, so one subchart can name another's objects (the JWKS URL, the database host) without
seeing its values. Truncated to 63 characters (DNS label).
*/}}

{{/* The prefix shared by every object of the release. */}}
{{- define "common.names.prefix" -}}
{{- $global := .Values.global | default dict -}}
{{- (get $global "fullnameOverride") | default .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of a component's objects: (dict "context" $ "component" "auth"). */}}
{{- define "common.names.component" -}}
{{- printf "%s-%s" (include "common.names.prefix" .context) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Name of this chart's own objects (its component is the chart name). */}}
{{- define "common.names.fullname" -}}
{{- include "common.names.component" (dict "context" . "component" .Chart.Name) -}}
{{- end -}}

{{/* app.kubernetes.io/name of every object: the product, not the subchart. */}}
{{- define "common.names.name" -}}chat{{- end -}}

{{- define "common.names.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The cluster's DNS domain (global.clusterDomain, default cluster.local, no trailing dot): the
only place it is read.
*/}}
{{- define "common.names.clusterDomain" -}}
{{- $global := .Values.global | default dict -}}
{{- (get $global "clusterDomain") | default "cluster.local" | trimSuffix "." -}}
{{- end -}}

{{/*
Fully qualified DNS name of a component's Service, "<prefix>-<component><suffix>.<ns>.svc.<clusterDomain>":
(dict "context" $ "component" "auth"), or with "suffix" "-headless" / "-rw" for the Services
named so. Always the full name: the gateway's nginx resolves its upstreams with its own
resolver, which ignores the pod's search list, and cluster DNS answers only the full name.
*/}}
{{- define "common.names.serviceHost" -}}
{{- $name := printf "%s%s" (include "common.names.component" .) (.suffix | default "") -}}
{{- printf "%s.%s.svc.%s" $name (include "common.names.namespace" .context) (include "common.names.clusterDomain" .context) -}}
{{- end -}}

{{/* Namespace of every object: global.namespaceOverride, else the release's. */}}
{{- define "common.names.namespace" -}}
{{- $global := .Values.global | default dict -}}
{{- (get $global "namespaceOverride") | default .Release.Namespace -}}
{{- end -}}
