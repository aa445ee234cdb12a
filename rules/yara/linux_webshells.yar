/*
 * cordon: PHP/JSP web shells found on Linux web servers.
 * Each rule has positive and negative samples in samples/ (see rules/README.md).
 */

rule cordon_webshell_php_eval_request
{
    meta:
        description = "PHP code evaluating or executing request input (one-line web shell)"
        severity = "high"
        mitre_attack = "T1505.003"
        author = "cordon"
    strings:
        $php = "<?php" nocase
        $php2 = "<?=" 
        $exec1 = /\b(eval|assert|system|passthru|shell_exec|exec|popen|proc_open|create_function)\s*\(\s*(@\s*)?(base64_decode\s*\(\s*|str_rot13\s*\(\s*|gzinflate\s*\(\s*)*\$_(GET|POST|REQUEST|COOKIE|SERVER)\s*\[/ nocase
        $exec2 = /\b(eval|assert)\s*\(\s*(@\s*)?(base64_decode|gzinflate|gzuncompress|str_rot13)\s*\(\s*['"][A-Za-z0-9+\/=]{200,}/ nocase
        $backtick = /`\s*\$_(GET|POST|REQUEST)\s*\[/ nocase
    condition:
        filesize < 2MB and ($php at 0 or $php2 or $php) and any of ($exec*, $backtick)
}

rule cordon_webshell_php_file_manager
{
    meta:
        description = "PHP web shell with command execution and upload features"
        severity = "high"
        mitre_attack = "T1505.003"
        author = "cordon"
    strings:
        $php = "<?php" nocase
        $u1 = "move_uploaded_file" nocase
        $c1 = /\b(shell_exec|passthru|system|proc_open|popen)\s*\(\s*\$/ nocase
        $k1 = "uname -a" nocase
        $k2 = "safe_mode" nocase
        $k3 = "/etc/passwd"
        $k4 = "disable_functions" nocase
    condition:
        filesize < 2MB and $php and $u1 and $c1 and 2 of ($k*)
}

rule cordon_webshell_jsp_runtime_exec
{
    meta:
        description = "JSP page running request input through Runtime.exec"
        severity = "high"
        mitre_attack = "T1505.003"
        author = "cordon"
    strings:
        $rt = "Runtime.getRuntime().exec(" 
        $req = /request\.getParameter\s*\(/
        $jsp = "<%"
    condition:
        filesize < 1MB and $jsp and $rt and $req
}
