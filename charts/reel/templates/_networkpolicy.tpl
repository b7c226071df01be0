{{/* Egress rules shared by the NetworkPolicies (networkpolicies.yaml). */}}

{{- define "reel.np.internet" -}}
{{- /* an egress rule to every non-internal address, optionally on some ports: (list $np ports) */ -}}
{{- $np := index . 0 }}{{ $ports := index . 1 -}}
- to:
    - ipBlock:
        cidr: 0.0.0.0/0
        except:
          {{- toYaml $np.internalCIDRs | nindent 10 }}
    {{- if $np.internalCIDRsV6 }}
    - ipBlock:
        cidr: ::/0
        except:
          {{- toYaml $np.internalCIDRsV6 | nindent 10 }}
    {{- end }}
  {{- if $ports }}
  ports:
    {{- range $ports }}
    - { protocol: TCP, port: {{ . }} }
    {{- end }}
  {{- end }}
{{- end -}}

{{- define "reel.np.dns" -}}
- to:
    {{- toYaml .dns.to | nindent 4 }}
  ports:
    - { protocol: UDP, port: 53 }
    - { protocol: TCP, port: 53 }
{{- end -}}

{{- define "reel.np.apiserver" -}}
- ports:
    {{- range .apiServer.ports }}
    - { protocol: TCP, port: {{ . }} }
    {{- end }}
  {{- with .apiServer.cidrs }}
  to:
    {{- range . }}
    - ipBlock: { cidr: {{ . }} }
    {{- end }}
  {{- end }}
{{- end -}}

{{- define "reel.np.service" -}}
{{- /* an in-cluster service (redis, postgres, s3): a rule only when peers are named */ -}}
{{- $svc := . -}}
{{- if $svc.to }}
- to:
    {{- toYaml $svc.to | nindent 4 }}
  ports:
    {{- range (ternary (list $svc.port) $svc.ports (hasKey $svc "port")) }}
    - { protocol: TCP, port: {{ . }} }
    {{- end }}
{{- end }}
{{- end -}}

{{- define "reel.np.allowed" -}}
{{- /* egressAllow: private ranges opened past the egress guard must be open here too */ -}}
{{- if .Values.egressAllow }}
- to:
    {{- range .Values.egressAllow }}
    - ipBlock: { cidr: {{ . }} }
    {{- end }}
{{- end }}
{{- end -}}
