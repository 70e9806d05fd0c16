#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays every byte by a fixed one-way time, in both directions: a stand-in
for a distant region on machines without kernel netem (used by the TTFT benchmark, bench/ttft.py).

    delay_proxy.py --upstream HOST:PORT --one-way-ms 50 --port-file FILE

Each chunk read from one side is written to the other `one-way-ms` after it was read, in order. The TCP
handshake the client does with the proxy is local and instant, so the proxy pays it on the client's behalf:
bytes from the client reach the upstream no sooner than two one-way times (SYN, SYN-ACK) after the accept,
plus their own one-way time, which is when they would arrive over a real path. A close is passed on after
the same delay (a FIN as a FIN). TLS passes through untouched.
"""
import argparse
import asyncio
import os
import socket
import sys


async def pump(reader, writer, delay, not_before):
    """Copies reader to writer, each chunk `delay` after it was read (and not before `not_before`)."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read():
        while True:
            data = await reader.read(65536)
            queue.put_nowait((max(loop.time(), not_before) + delay, data))
            if not data:
                return

    async def write():
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    try:
        await asyncio.gather(read(), write())
    except (ConnectionError, OSError):
        writer.close()


async def serve(args):
    host, port = args.upstream.rsplit(":", 1)
    delay = args.one_way_ms / 1000
    async def handle(client_reader, client_writer):
        loop = asyncio.get_running_loop()
        ready = loop.time() + 2 * delay  # the handshake a real path would have cost
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            client_writer.close()
            return
        for writer in (client_writer, upstream_writer):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pump(client_reader, upstream_writer, delay, ready),
                             pump(upstream_reader, client_writer, delay, 0), return_exceptions=True)
        for writer in (client_writer, upstream_writer):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    bound = server.sockets[0].getsockname()[1]
    if args.port_file:
        temporary = args.port_file + ".tmp"
        with open(temporary, "w") as f:
            f.write(str(bound))
        os.replace(temporary, args.port_file)
    sys.stderr.write("delay_proxy: 127.0.0.1:%d -> %s, %g ms each way\n" % (bound, args.upstream, args.one_way_ms))
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True, help="HOST:PORT to forward to")
    parser.add_argument("--one-way-ms", type=float, default=50)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    args = parser.parse_args()
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
