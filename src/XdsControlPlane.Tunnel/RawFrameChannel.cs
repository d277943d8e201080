using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using XdsControlPlane.Tunnel.Protocol;
using XdsControlPlane.Xds.Resources;

namespace XdsControlPlane.Tunnel;

/// <summary>
/// The frames of a raw lane (<see cref="RawLane"/>) as the gRPC stream types the lane code already speaks: a reader of
/// the peer's frames and a writer of this side's, over the connection's pipes (after the preface). Writes while
/// <see cref="WriteOptions"/> carries <c>BufferHint</c> stay buffered (up to <see cref="FlushThreshold"/>), so a burst of
/// frames leaves in few sends; any other write flushes. One reader and one writer at a time, as gRPC's streams.
/// A record that breaks the format ends the reading with an <see cref="RpcException"/> naming the problem
/// (<c>INVALID_ARGUMENT</c>); the connection ending inside a record, with an <see cref="IOException"/>.
/// </summary>
public sealed class RawFrameChannel : IAsyncStreamReader<Frame>, IServerStreamWriter<Frame>
{
    /// <summary>Buffered bytes beyond which a write flushes even while more frames follow.</summary>
    public const int FlushThreshold = 256 * 1024;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly bool _statusExpected;
    private Frame? _current;

    /// <param name="input">The peer's records.</param>
    /// <param name="output">Where this side's records go.</param>
    /// <param name="statusExpected">Whether the peer may end with a status record (the agent's side: the broker sends one); on the broker's side one is a format error.</param>
    public RawFrameChannel(PipeReader input, PipeWriter output, bool statusExpected)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        _input = input;
        _output = output;
        _statusExpected = statusExpected;
    }

    /// <inheritdoc />
    public Frame Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true");

    /// <inheritdoc />
    public WriteOptions? WriteOptions { get; set; }

    /// <summary>
    /// Reads the next frame. False at the peer's clean end (after a status of <c>OK</c>, or the connection closed between
    /// records); a status other than <c>OK</c> is thrown as an <see cref="RpcException"/>, as a gRPC client's call ends.
    /// </summary>
    public async Task<bool> MoveNext(CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            if (TryReadRecord(buffer, out var kind, out var body))
            {
                try
                {
                    if (kind == RawLane.FrameRecord)
                    {
                        _current = Parse(body);
                        return true;
                    }

                    var status = StatusOf(body);
                    _current = null;
                    return status.StatusCode == StatusCode.OK ? false : throw new RpcException(status);
                }
                finally
                {
                    _input.AdvanceTo(body.End);
                }
            }

            if (result.IsCanceled)
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
                throw new OperationCanceledException("the raw lane's reading was canceled");
            }

            if (result.IsCompleted)
            {
                _input.AdvanceTo(buffer.End);
                return buffer.IsEmpty ? false : throw new IOException($"the raw lane's connection ended inside a record ({buffer.Length} bytes of it came)");
            }

            _input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <inheritdoc />
    public Task WriteAsync(Frame message) => WriteAsync(message, CancellationToken.None);

    /// <summary>Writes <paramref name="message"/> as one record; flushes unless <see cref="WriteOptions"/> says more follow at once.</summary>
    public async Task WriteAsync(Frame message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var size = message.CalculateSize();
        if (size > RawLane.MaxRecordBytes)
        {
            throw new InvalidOperationException($"a {message.FrameCase} frame of {size} bytes does not fit a raw lane's record (at most {RawLane.MaxRecordBytes})");
        }

        WriteHeader(RawLane.FrameRecord, size);
        message.WriteTo(_output);
        var buffered = WriteOptions is { } options && (options.Flags & WriteFlags.BufferHint) != 0;
        if (!buffered || _output.UnflushedBytes >= FlushThreshold)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes <paramref name="status"/> as the last record (the broker's end of a lane; its detail capped at <see cref="RawLane.MaxDetailBytes"/>) and flushes.</summary>
    public async Task WriteStatusAsync(Status status, CancellationToken cancellationToken)
    {
        var detail = Encoding.UTF8.GetBytes(status.Detail ?? "");
        var length = Math.Min(detail.Length, RawLane.MaxDetailBytes);
        WriteHeader(RawLane.StatusRecord, 4 + length);
        var span = _output.GetSpan(4 + length);
        BinaryPrimitives.WriteInt32BigEndian(span, (int)status.StatusCode);
        detail.AsSpan(0, length).CopyTo(span[4..]);
        _output.Advance(4 + length);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        var flushed = await _output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (flushed.IsCanceled)
        {
            throw new OperationCanceledException("the raw lane's writing was canceled");
        }

        if (flushed.IsCompleted)
        {
            throw new IOException("the raw lane's peer stopped reading (its connection closed)");
        }
    }

    private void WriteHeader(byte kind, int length)
    {
        RawLane.WriteHeader(_output.GetSpan(RawLane.HeaderBytes), kind, length);
        _output.Advance(RawLane.HeaderBytes);
    }

    /// <summary>Whether <paramref name="buffer"/> starts with a whole record; throws when its header breaks the format.</summary>
    private bool TryReadRecord(ReadOnlySequence<byte> buffer, out byte kind, out ReadOnlySequence<byte> body)
    {
        kind = 0;
        body = default;
        if (buffer.Length < RawLane.HeaderBytes)
        {
            return false;
        }

        Span<byte> header = stackalloc byte[RawLane.HeaderBytes];
        buffer.Slice(0, RawLane.HeaderBytes).CopyTo(header);
        kind = header[0];
        var length = BinaryPrimitives.ReadUInt32BigEndian(header[1..]);
        if (kind != RawLane.FrameRecord && !(kind == RawLane.StatusRecord && _statusExpected))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"raw lane: a record of kind {kind} (only {RawLane.FrameRecord}, a frame{(_statusExpected ? $", and {RawLane.StatusRecord}, the status" : "")}); ending the lane"));
        }

        if (length > RawLane.MaxRecordBytes || (kind == RawLane.StatusRecord && length is < 4 or > 4 + RawLane.MaxDetailBytes))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"raw lane: a record of {length} bytes (a frame at most {RawLane.MaxRecordBytes}, a status 4 to {4 + RawLane.MaxDetailBytes}); ending the lane"));
        }

        if (buffer.Length - RawLane.HeaderBytes < length)
        {
            return false;
        }

        body = buffer.Slice(RawLane.HeaderBytes, length);
        return true;
    }

    private static Frame Parse(ReadOnlySequence<byte> body)
    {
        try
        {
            return FrameCodec.Parse(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"raw lane: a frame that is not protobuf ({e.Message}); ending the lane"));
        }
    }

    private static Status StatusOf(ReadOnlySequence<byte> body)
    {
        var bytes = body.ToArray();
        var code = BinaryPrimitives.ReadInt32BigEndian(bytes);
        var detail = Encoding.UTF8.GetString(bytes, 4, bytes.Length - 4);
        return new Status(Enum.IsDefined((StatusCode)code) ? (StatusCode)code : StatusCode.Unknown, ClientText.OneLine(detail, RawLane.MaxDetailBytes));
    }
}
