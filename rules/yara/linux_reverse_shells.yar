/* cordon: reverse-shell one-liners and scripts. */

rule cordon_revshell_bash_dev_tcp
{
    meta:
        description = "interactive shell redirected to a /dev/tcp socket"
        severity = "critical"
        mitre_attack = "T1059.004"
        author = "cordon"
    strings:
        $a = /(bash|sh)\s+-i\s*[>&0-9\s]*\/dev\/(tcp|udp)\/[^\s\/]+\/[0-9]+/
        $b = /exec\s+[0-9]+<>\/dev\/tcp\/[^\s\/]+\/[0-9]+\s*;\s*(cat|sh|bash)\s+<&\s*[0-9]+/
        $c = /0<&[0-9]+\s*;\s*exec\s+[0-9]+<>\/dev\/tcp\//
    condition:
        filesize < 5MB and any of them
}

rule cordon_revshell_netcat_exec
{
    meta:
        description = "netcat or socat handing a shell to a remote host"
        severity = "critical"
        mitre_attack = "T1059.004"
        author = "cordon"
    strings:
        $nc = /\b(nc|ncat|netcat)(\.traditional|\.openbsd)?\s+(-[a-z]+\s+)*-e\s+\/bin\/(ba)?sh/
        $fifo = /mkfifo\s+\S+\s*;\s*(cat|tail -f)\s+\S+\s*\|\s*\/bin\/(ba)?sh\s+-i\s*2>&1\s*\|\s*(nc|ncat|netcat)\s/
        $rm_fifo = /rm\s+(-f\s+)?\/tmp\/f\s*;\s*mkfifo\s+\/tmp\/f/
        $socat = /socat\s+(tcp|openssl)[^\s]*:[^\s]+\s+exec:['"]?(\/bin\/)?(ba)?sh/ nocase
    condition:
        filesize < 5MB and any of them
}

rule cordon_revshell_script_socket_dup2
{
    meta:
        description = "Python/Perl/PHP/Ruby script connecting a socket to a shell's stdin/stdout"
        severity = "critical"
        mitre_attack = "T1059.006"
        author = "cordon"
    strings:
        $py1 = "socket.socket(" 
        $py2 = /os\.dup2\s*\(\s*\w+\.fileno\(\)\s*,\s*[012]\s*\)/
        $py3 = /(subprocess\.call|pty\.spawn|os\.system)\s*\(\s*\[?\s*["']\/bin\/(ba)?sh/
        $pl1 = /socket\s*\(\s*S\s*,\s*PF_INET/
        $pl2 = /open\s*\(\s*STDIN\s*,\s*["']>&S["']\s*\)/
        $pl3 = /exec\s*\(\s*["']\/bin\/(ba)?sh\s+-i["']\s*\)/
        $php1 = /fsockopen\s*\(/
        $php2 = /(exec|shell_exec|system|proc_open)\s*\(\s*["']\/bin\/(ba)?sh\s+-i\s*<&3\s*>&3\s*2>&3["']/
        $rb1 = /TCPSocket\.(new|open)\s*\(/
        $rb2 = /exec\s+sprintf\s*\(\s*["']\/bin\/sh\s+-i\s*<&%d/
    condition:
        filesize < 5MB and (($py1 and $py2 and $py3) or ($pl1 and ($pl2 or $pl3)) or ($php1 and $php2) or ($rb1 and $rb2))
}
