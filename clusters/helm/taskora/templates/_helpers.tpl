{{/*
Labels every object carries: the project label and Helm's bookkeeping labels.
*/}}
{{- define "taskora.labels" -}}
app.kubernetes.io/part-of: taskora
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/*
metadata of a namespaced object. dict: root (the top context), name, labels (optional: the
object's own labels, e.g. name and component).
*/}}
{{- define "taskora.metadata" -}}
name: {{ .name }}
namespace: {{ .root.Release.Namespace }}
labels:
  {{- with .labels }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  {{- include "taskora.labels" .root | nindent 2 }}
{{- end }}

{{/*
Selector labels of a workload. dict: name, component.
*/}}
{{- define "taskora.selector" -}}
app.kubernetes.io/component: {{ .component }}
app.kubernetes.io/name: {{ .name }}
{{- end }}

{{/*
The image of every taskora container, and its pull policy when one is set.
*/}}
{{- define "taskora.image" -}}
image: {{ printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- with .Values.image.pullPolicy }}
imagePullPolicy: {{ . }}
{{- end }}
{{- end }}

{{/*
Configuration of a taskora container (the role, or "migrate"): the ConfigMap, and the Secrets'
keys (never values). The api and its migrate init container (which runs before the sidecar) get
the JWT secret and the database URL as variables; the consumers and the scheduler read them from
the Dapr secret store (TASKORA_SECRETS=dapr; the Role lets the sidecar read taskora-secrets).
*/}}
{{- define "taskora.env" -}}
envFrom:
  - configMapRef:
      name: taskora-config
env:
  {{- if ne . "migrate" }}
  - name: APP_API_TOKEN  # what the sidecar brings on every call (dapr.io/app-token-secret)
    valueFrom:
      secretKeyRef:
        name: taskora-app-token
        key: token
  {{- end }}
  {{- if has . (list "consumers" "scheduler") }}
  - name: TASKORA_SECRETS
    value: dapr
  {{- else }}
  - name: TASKORA_JWT_SECRET
    valueFrom:
      secretKeyRef:
        name: taskora-secrets
        key: jwt-secret
  - name: TASKORA_DATABASE_URL
    valueFrom:
      secretKeyRef:
        name: taskora-secrets
        key: database-url
  {{- end }}
{{- end }}

{{/*
Kafka API address of the Redpanda brokers through their headless Service.
*/}}
{{- define "taskora.redpandaHost" -}}
{{- printf "redpanda.%s.svc.cluster.local" .Release.Namespace -}}
{{- end }}

{{/*
The pod template of a taskora role. dict: root (the top context), role (api, consumers,
scheduler). Labels, Dapr annotations, probes, security context, configuration from the
ConfigMap and the Secret, an emptyDir at /tmp (the root filesystem is read-only), and on the
api the `taskora migrate` init container. The config checksum rolls the pods when the
ConfigMap changes.
*/}}
{{- define "taskora.pod" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
{{- $role := .role -}}
{{- $spec := index $values.roles $role -}}
{{- $stop := $values.shutdown -}}
{{- $sidecar := $values.dapr.sidecar -}}
metadata:
  labels:
    {{- include "taskora.selector" (dict "name" "taskora" "component" $role) | nindent 4 }}
    app.kubernetes.io/part-of: taskora
  annotations:
    checksum/config: {{ include (print $root.Template.BasePath "/configmap.yaml") $root | sha256sum }}
    dapr.io/enabled: "true"
    dapr.io/app-id: taskora-{{ $role }}
    dapr.io/app-port: {{ $values.service.port | quote }}
    dapr.io/app-protocol: http
    dapr.io/app-token-secret: taskora-app-token
    dapr.io/config: taskora
    dapr.io/enable-app-health-check: "true"
    dapr.io/app-health-check-path: /health
    dapr.io/graceful-shutdown-seconds: {{ add $stop.preStopSeconds $stop.drainSeconds 5 | quote }}
    dapr.io/log-as-json: "true"
    dapr.io/sidecar-cpu-request: {{ $sidecar.cpuRequest }}
    dapr.io/sidecar-memory-request: {{ $sidecar.memoryRequest }}
    dapr.io/sidecar-cpu-limit: {{ $sidecar.cpuLimit }}
    dapr.io/sidecar-memory-limit: {{ $sidecar.memoryLimit }}
spec:
  serviceAccountName: taskora
  terminationGracePeriodSeconds: {{ add $stop.preStopSeconds $stop.drainSeconds 15 }}
  # Spread each role's pods over nodes where the cluster has several (a preference only)
  topologySpreadConstraints:
    - maxSkew: 1
      topologyKey: kubernetes.io/hostname
      whenUnsatisfiable: ScheduleAnyway
      labelSelector:
        matchLabels:
          app.kubernetes.io/name: taskora
      matchLabelKeys: [app.kubernetes.io/component, pod-template-hash]
  securityContext:
    {{- toYaml $values.podSecurityContext | nindent 4 }}
  {{- if and (eq $role "api") $values.migrate.enabled }}
  initContainers:
    - name: migrate
      {{- include "taskora.image" $root | nindent 6 }}
      args: ["migrate"]
      {{- include "taskora.env" "migrate" | nindent 6 }}
      resources:
        {{- toYaml $values.migrate.resources | nindent 8 }}
      securityContext:
        {{- toYaml $values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  {{- end }}
  containers:
    - name: taskora
      {{- include "taskora.image" $root | nindent 6 }}
      args: ["serve", "--host", "0.0.0.0", "--port", {{ $values.service.port | quote }},
             "--role", {{ $role | quote }}, "--drain-seconds", {{ $stop.drainSeconds | quote }}]
      ports:
        - name: http
          containerPort: {{ $values.service.port }}
          protocol: TCP
      {{- include "taskora.env" $role | nindent 6 }}
      startupProbe:
        httpGet:
          path: /health
          port: http
        periodSeconds: 2
        failureThreshold: 30
      livenessProbe:
        httpGet:
          path: /health
          port: http
        periodSeconds: 10
        timeoutSeconds: 3
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /ready
          port: http
        periodSeconds: 5
        timeoutSeconds: 3
        failureThreshold: 2
      lifecycle:
        preStop:
          exec:
            command: ["sleep", {{ $stop.preStopSeconds | quote }}]
      resources:
        {{- toYaml $spec.resources | nindent 8 }}
      securityContext:
        {{- toYaml $values.containerSecurityContext | nindent 8 }}
      volumeMounts:
        - name: tmp
          mountPath: /tmp
  volumes:
    - name: tmp
      emptyDir:
        sizeLimit: 128Mi
{{- end }}
