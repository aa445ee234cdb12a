/* cordon: ELF droppers and bots that fetch, persist and hide. */

rule cordon_elf_dropper_download_persist
{
    meta:
        description = "ELF binary embedding download-and-run shell commands with persistence"
        severity = "high"
        mitre_attack = "T1105"
        author = "cordon"
    strings:
        $dl1 = /(wget|curl)\s+(-[a-zA-Z]+\s+)*(-O\s*\S+\s+)?https?:\/\/[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}[:\/]/
        $dl2 = /(wget|curl)[^\n]{0,80}\|\s*(ba)?sh\b/
        $x1 = /chmod\s+(\+x|[0-7]?7[0-7][0-7])\s+\/(tmp|dev\/shm|var\/tmp)\//
        $p1 = /(crontab\s+-l|\/etc\/cron\.d\/|\/var\/spool\/cron)/
        $p2 = "/etc/rc.local"
        $p3 = /systemctl\s+enable\s+\S+/
        $p4 = "/etc/ld.so.preload"
        $h1 = /(history\s+-c|unset\s+HISTFILE|HISTFILE=\/dev\/null)/
        $h2 = /(pkill|killall)\s+(-9\s+)?(xmrig|kdevtmpfsi|kinsing|minerd)/
        $h3 = /(chattr\s+[-+]i|ufw\s+disable|setenforce\s+0)/
    condition:
        uint32(0) == 0x464c457f and filesize < 20MB and
        ($dl1 or $dl2) and $x1 and (any of ($p*)) and (any of ($h*))
}

rule cordon_elf_upx_in_tmp_named_like_kernel_thread
{
    meta:
        description = "UPX-packed ELF that names itself like a kernel thread"
        severity = "medium"
        mitre_attack = "T1036.004"
        author = "cordon"
    strings:
        $upx = "UPX!"
        $k = /\[?(kworker|kthreadd|ksoftirqd|kswapd0|migration)\/?[0-9:]*\]?/
    condition:
        uint32(0) == 0x464c457f and filesize < 20MB and $upx in (0..1024) and $k
}
