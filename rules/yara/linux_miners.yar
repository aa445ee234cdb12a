/* cordon: cryptocurrency miner configurations and command lines. */

rule cordon_miner_xmrig_config
{
    meta:
        description = "XMRig-style miner configuration (pools, donate level)"
        severity = "high"
        mitre_attack = "T1496"
        author = "cordon"
    strings:
        $pools = "\"pools\"" 
        $url = /"url"\s*:\s*"[^"]+:[0-9]{2,5}"/
        $donate = "\"donate-level\""
        $algo = /"(algo|coin)"\s*:\s*"(rx\/0|cn\/r|monero|xmr|randomx|rx\/wow|ghostrider)"/ nocase
        $cpu = "\"max-threads-hint\""
    condition:
        filesize < 1MB and $pools and $url and ($donate or $algo or $cpu)
}

rule cordon_miner_stratum_url
{
    meta:
        description = "stratum mining pool URL with wallet-style user"
        severity = "high"
        mitre_attack = "T1496"
        author = "cordon"
    strings:
        $stratum = /stratum\+(tcp|ssl|tls):\/\/[a-z0-9.\-]+:[0-9]{2,5}/ nocase
        $wallet = /\b4[0-9AB][1-9A-HJ-NP-Za-km-z]{93}\b/
        $user = /(-u|--user|"user"\s*:)\s*"?[A-Za-z0-9]{30,}/
        $pool = /\b(xmrpool|supportxmr|nanopool|minexmr|moneroocean|hashvault|c3pool|f2pool|2miners)\.(net|org|com|stream|pro)\b/ nocase
    condition:
        filesize < 20MB and $stratum and ($wallet or $user or $pool)
}
