using System.Runtime.CompilerServices;

namespace RemoteSessions.Native;

/// <summary>A pipeline's state, as PowerShell's <c>PSInvocationState</c> (MS-PSRP 2.2.3.5).</summary>
public enum PSInvocationState : uint
{
    /// <summary>Not started.</summary>
    NotStarted = 0,
    /// <summary>Running.</summary>
    Running = 1,
    /// <summary>Being stopped.</summary>
    Stopping = 2,
    /// <summary>Stopped by <see cref="PSPipeline.Stop"/>.</summary>
    Stopped = 3,
    /// <summary>Finished.</summary>
    Completed = 4,
    /// <summary>Ended by a terminating error: see <see cref="PSPipeline.Reason"/>.</summary>
    Failed = 5,
    /// <summary>Disconnected.</summary>
    Disconnected = 6,
}

/// <summary>One thing a pipeline wrote: an output object or a record of another stream. Disposing it
/// disposes its value.</summary>
/// <param name="Stream">The stream it was written to.</param>
/// <param name="Value">The object or record.</param>
public sealed record PSStreamItem(PSStream Stream, PSValue Value) : IDisposable
{
    /// <summary>The record's text (<see cref="PSValue.RecordText"/>), or an output object's text.</summary>
    public string Text => Value.RecordText(Stream);

    /// <summary>Frees the value.</summary>
    public void Dispose() => Value.Dispose();
}

/// <summary>
/// A pipeline running in a <see cref="PSSession"/> the library opened. Read what it writes, in order,
/// with <see cref="Next"/>, <see cref="ReadAll"/> or <see cref="ReadAllAsync"/>; cancelling their token
/// stops the pipeline on the server. One thread may read while another stops it. Disposing closes its
/// channel (a running pipeline goes on, unseen: stop it first to end it).
/// </summary>
public sealed class PSPipeline : IDisposable
{
    private readonly PipelineHandle _handle;

    internal PSPipeline(PipelineHandle handle) => _handle = handle;

    /// <summary>The next thing the pipeline wrote, waiting up to <paramref name="timeoutMs"/>
    /// milliseconds (negative = no limit).</summary>
    /// <param name="timeoutMs">How long to wait, in milliseconds; negative = no limit.</param>
    /// <returns>The item, or null once the pipeline has ended and everything was read.</returns>
    /// <exception cref="RemoteSessionsException">Timeout (call again); TransportBroken when the server
    /// went away; InvalidState when the session was removed.</exception>
    public PSStreamItem? Next(int timeoutMs = -1)
    {
        Native.Check(NativeMethods.rsess_pipeline_next(_handle, timeoutMs, out uint stream, out PSValueHandle value, out IntPtr err), err);
        if (value.IsInvalid)
        {
            value.Dispose();
            return null;
        }
        return new PSStreamItem((PSStream)stream, new PSValue(value));
    }

    /// <summary>Everything the pipeline writes, in order, until it ends. Cancelling
    /// <paramref name="cancellation"/> stops the pipeline, reads it to its end, then throws.</summary>
    /// <param name="cancellation">Stops the pipeline.</param>
    /// <returns>The items, each to dispose.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="RemoteSessionsException">As <see cref="Next"/>.</exception>
    public IEnumerable<PSStreamItem> ReadAll(CancellationToken cancellation = default)
    {
        using (cancellation.Register(StopQuietly))
        {
            while (Next() is { } item)
            {
                if (cancellation.IsCancellationRequested) item.Dispose();
                else yield return item;
            }
        }
        cancellation.ThrowIfCancellationRequested();
    }

    /// <summary>As <see cref="ReadAll"/>, waiting on the thread pool instead of the caller's thread.</summary>
    /// <param name="cancellation">Stops the pipeline.</param>
    /// <returns>The items, each to dispose.</returns>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    /// <exception cref="RemoteSessionsException">As <see cref="Next"/>.</exception>
    public async IAsyncEnumerable<PSStreamItem> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using (cancellation.Register(StopQuietly))
        {
            while (await Task.Run(() => Next()).ConfigureAwait(false) is { } item)
            {
                if (cancellation.IsCancellationRequested) item.Dispose();
                else yield return item;
            }
        }
        cancellation.ThrowIfCancellationRequested();
    }

    /// <summary>Asks the server to stop the pipeline (as Ctrl+C does); it then ends
    /// <see cref="PSInvocationState.Stopped"/> unless it had already ended.</summary>
    /// <exception cref="RemoteSessionsException">TransportBroken when the server is gone.</exception>
    public void Stop() => Native.Check(NativeMethods.rsess_pipeline_stop(_handle, out IntPtr err), err);

    // From a cancellation callback, which must not throw: a server already gone ends the reads anyway.
    private void StopQuietly()
    {
        if (NativeMethods.rsess_pipeline_stop(_handle, out IntPtr err) != ResultCode.Ok) NativeMethods.rsess_error_free(err);
    }

    /// <summary>The pipeline's state: Running until the server reports its end.</summary>
    public PSInvocationState State
    {
        get
        {
            Native.Check(NativeMethods.rsess_pipeline_state(_handle, out uint state));
            return (PSInvocationState)state;
        }
    }

    /// <summary>The error record a Failed or Stopped pipeline ended with (dispose it); null while it
    /// runs and when it ended without one.</summary>
    public PSValue? Reason
    {
        get
        {
            Native.Check(NativeMethods.rsess_pipeline_reason(_handle, out PSValueHandle h));
            if (!h.IsInvalid) return new PSValue(h);
            h.Dispose();
            return null;
        }
    }

    /// <summary>Closes the pipeline's channel.</summary>
    public void Dispose() => _handle.Dispose();
}
