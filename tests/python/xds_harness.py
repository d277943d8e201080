#!/usr/bin/python3
"""Integration-test harness: an independent xDS client (gRPC C-core through Debian's python3-grpcio) driven by the
.NET tests over stdin/stdout, one JSON object per line. It speaks the same protocol as tests/node/xds-harness.mjs.

Start-up: starts one Echo backend per name in HARNESS_BACKENDS (comma separated) on 127.0.0.1, prints
  {"event":"backends","ports":{"baseline":40001,"fork":40002},"grpc":"1.51.1"}
Commands (stdin):
  {"cmd":"call","target":"xds:///echo.shop:8080","count":20,"metadata":{"x-routing-key":"feature-x"},"method":"Say"}
    -> {"event":"results","backends":{"fork":20},"errors":{}}
  {"cmd":"call", ..., "durationMs":5000} instead of "count": calls one after another for that long
  {"cmd":"exit"}
The xDS bootstrap comes from GRPC_XDS_BOOTSTRAP_CONFIG, set by the test. Run it with Debian's interpreter
(/usr/bin/python3): the python3-grpcio package installs into its dist-packages only.
"""

import json
import os
import sys
import time
from concurrent import futures

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

CALL_DEADLINE_SECONDS = 5


def echo_messages():
    """SayRequest and SayReply of tests/node/echo.proto, built from a descriptor (grpcio ships no protoc)."""
    file = descriptor_pb2.FileDescriptorProto(name="xdscp_test_echo.proto", package="xdscp.test", syntax="proto3")
    for message, field in (("SayRequest", "text"), ("SayReply", "backend")):
        file.message_type.add(name=message).field.add(
            name=field, number=1, type=descriptor_pb2.FieldDescriptorProto.TYPE_STRING,
            label=descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    get = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory(pool).GetPrototype
    return get(pool.FindMessageTypeByName("xdscp.test.SayRequest")), get(pool.FindMessageTypeByName("xdscp.test.SayReply"))


SayRequest, SayReply = echo_messages()


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def start_backend(name):
    def answer(_request, _context):
        return SayReply(backend=name)

    handler = grpc.method_handlers_generic_handler("xdscp.test.Echo", {
        method: grpc.unary_unary_rpc_method_handler(
            answer, request_deserializer=SayRequest.FromString, response_serializer=SayReply.SerializeToString)
        for method in ("Say", "Shout")
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, port


channels = {}


def stub_for(target, method):
    if target not in channels:
        channels[target] = grpc.insecure_channel(target)
    return channels[target].unary_unary(
        f"/xdscp.test.Echo/{method}", request_serializer=SayRequest.SerializeToString, response_deserializer=SayReply.FromString)


def call(command):
    stub = stub_for(command["target"], command.get("method") or "Say")
    metadata = tuple((key, value) for key, value in (command.get("metadata") or {}).items())
    backends, errors = {}, {}
    duration = command.get("durationMs")
    end = time.monotonic() + (duration or 0) / 1000
    done = 0
    while (time.monotonic() < end) if duration is not None else (done < command["count"]):
        done += 1
        try:
            reply = stub(SayRequest(text="hi"), metadata=metadata, timeout=CALL_DEADLINE_SECONDS)
            backends[reply.backend] = backends.get(reply.backend, 0) + 1
        except grpc.RpcError as error:  # pylint: disable=no-member
            key = f"{error.code().name}: {error.details()}"
            errors[key] = errors.get(key, 0) + 1
    emit({"event": "results", "backends": backends, "errors": errors})


def main():
    servers = {}
    ports = {}
    for name in (os.environ.get("HARNESS_BACKENDS") or "baseline,fork").split(","):
        servers[name], ports[name] = start_backend(name)
    emit({"event": "backends", "ports": ports, "grpc": grpc.__version__})
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        if command.get("cmd") == "call":
            call(command)
        elif command.get("cmd") == "exit":
            break
        else:
            emit({"event": "error", "message": f"unknown command {command.get('cmd')}"})
    for channel in channels.values():
        channel.close()
    for server in servers.values():
        server.stop(grace=None)


if __name__ == "__main__":
    main()
