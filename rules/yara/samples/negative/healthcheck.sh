#!/bin/bash
# Checks that the web server answers, using bash's /dev/tcp (no shell handed out).
exec 3<>/dev/tcp/127.0.0.1/80
printf 'HEAD / HTTP/1.0\r\n\r\n' >&3
head -1 <&3 | grep -q ' 200 ' && echo ok
nc -z -w2 127.0.0.1 22 && echo ssh-up
