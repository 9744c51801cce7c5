import struct, random
random.seed(7)
def csum(b):
    if len(b)%2: b+=b'\0'
    s=sum(struct.unpack('!%dH'%(len(b)//2),b)); s=(s>>16)+(s&0xffff); s+=s>>16
    return (~s)&0xffff
def eth(t): return bytes.fromhex('020000000001020000000002')+struct.pack('!H',t)
def ipv4(src,dst,proto,payload):
    h=struct.pack('!BBHHHBBH4s4s',0x45,0,20+len(payload),1,0x4000,64,proto,0,bytes(src),bytes(dst))
    h=h[:10]+struct.pack('!H',csum(h))+h[12:]
    return h+payload
def ipv6(src,dst,proto,payload):
    return struct.pack('!IHBB',0x60000000,len(payload),proto,64)+bytes(src)+bytes(dst)+payload
def tcp(sp,dp,n): return struct.pack('!HHIIBBHHH',sp,dp,1,0,0x50,0x18,65535,0,0)+b'x'*n
def udp(sp,dp,n): return struct.pack('!HHHH',sp,dp,8+n,0)+b'y'*n
pkts=[]
t=1700000000.0
for i in range(400):
    t+=0.001
    v6 = i%3==0
    sp,dp=random.randint(1024,65000),random.choice([53,80,443,123])
    n=random.randint(0,1400)
    l4=tcp(sp,dp,n) if i%2 else udp(sp,dp,n)
    proto=6 if i%2 else 17
    f=i%40
    if v6:
        src=[0x20,0x01,0x0d,0xb8]+[0]*11+[f]; dst=[0x20,0x01,0x0d,0xb8,1]+[0]*10+[2]
        frame=eth(0x86dd)+ipv6(src,dst,proto,l4)
    else:
        frame=eth(0x0800)+ipv4([10,0,f,1],[192,0,2,(f*7)%250+1],proto,l4)
    pkts.append((t,frame))
with open('in.pcap','wb') as fh:
    fh.write(struct.pack('<IHHiIII',0xa1b2c3d4,2,4,0,0,65535,1))
    for ts,fr in pkts:
        fh.write(struct.pack('<IIII',int(ts),int((ts%1)*1e6),len(fr),len(fr)))
        fh.write(fr)
