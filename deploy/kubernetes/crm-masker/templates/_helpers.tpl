{{/* The release's name for its objects (crm-masker when the release is called so). */}}
{{- define "crm-masker.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "crm-masker.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "crm-masker.labels" -}}
{{ include "crm-masker.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "crm-masker.rulesConfigMap" -}}
{{- .Values.rules.existingConfigMap | default (printf "%s-rules" (include "crm-masker.fullname" .)) -}}
{{- end -}}

{{/* What every container of the pod needs to reach Kafka and read the rules. */}}
{{- define "crm-masker.kafkaEnv" -}}
- name: CRM_MASKER_BOOTSTRAP_SERVERS
  value: {{ required "kafka.bootstrapServers is required" .Values.kafka.bootstrapServers | quote }}
- name: CRM_MASKER_RULES
  value: /etc/crm-masker/rules
- name: CRM_MASKER_LOG_LEVEL
  value: {{ .Values.processor.logLevel | quote }}
- name: CRM_MASKER_LOG_FORMAT
  value: {{ .Values.processor.logFormat | quote }}
{{- range $key, $value := .Values.kafka.options }}
- name: {{ printf "CRM_MASKER_KAFKA_%s" ($key | replace "_" "__" | replace "." "_" | upper) }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{- define "crm-masker.envFrom" -}}
{{- if or .Values.kafka.existingSecret .Values.schemaRegistry.existingSecret }}
envFrom:
{{- with .Values.kafka.existingSecret }}
  - secretRef:
      name: {{ . }}
{{- end }}
{{- with .Values.schemaRegistry.existingSecret }}
  - secretRef:
      name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* CPU request: base + events/s × µs per event, in millicores (see values.yaml, sizing). */}}
{{- define "crm-masker.cpuRequest" -}}
{{- $s := .Values.sizing -}}
{{- printf "%dm" (add (int $s.baseMillicores) (div (mul (int $s.eventsPerSecondPerPod) (int $s.cpuMicrosPerEvent)) 1000)) -}}
{{- end -}}

{{- define "crm-masker.securityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: [ALL]
{{- end -}}
