import socket, struct, sys
port=int(sys.argv[1]); out=sys.argv[2]
s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('127.0.0.1',port)); s.settimeout(4)
n=0
with open(out,'wb') as f:
    while True:
        try: d,_=s.recvfrom(65535)
        except socket.timeout: break
        f.write(struct.pack('!I',len(d))+d); n+=1
print(out, n, 'datagrams')
