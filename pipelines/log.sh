# log.sh - the lines nightly.sh and rerun.sh write to standard error, in
# the programs' format (lib/log.c): text as it reads, or with
# UNITSYNC_LOG_FORMAT=json one object {"time","level","prog","msg"} per
# line, so that a log collector parses every line of a night.  Sourced;
# set log_prog first.

# json_escape TEXT: TEXT as the inside of a JSON string (RFC 8259 §7)
json_escape() {
	local s=$1 out='' c i
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	if [[ $s == *[[:cntrl:]]* ]]; then
		for ((i = 0; i < ${#s}; i++)); do
			c=${s:i:1}
			[[ $c == [[:cntrl:]] ]] && printf -v c '\\u%04x' "'$c"
			out+=$c
		done
		s=$out
	fi
	printf '%s' "$s"
}

# say LEVEL LINE...: LINE on standard error (LEVEL info, warning or error);
# as JSON, without the "PROG: " the text line starts with
say() {
	local level=$1 msg
	shift
	msg="$*"
	if [ "${UNITSYNC_LOG_FORMAT:-text}" = json ]; then
		msg=${msg#"$log_prog: "}
		printf '{"time":"%s","level":"%s","prog":"%s","msg":"%s"}\n' \
			"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$level" "$log_prog" "$(json_escape "$msg")" >&2
	else
		printf '%s\n' "$msg" >&2
	fi
}
