import socket, subprocess
# A plain TCP client that reports the uptime: it never wires the socket to a shell.
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.connect(("monitor.example.org", 9000))
s.sendall(subprocess.check_output(["uptime"]))
s.close()
