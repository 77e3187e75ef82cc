namespace RemoteSessions.Native;

/// <summary>
/// Bridges a <see cref="CancellationToken"/> to a native cancel handle (<c>rsess_cancel</c>) for the
/// length of one operation or one enumeration: cancelling the token cancels the handle, which stops the
/// wire operation waiting on it. Dispose when the operation ends.
/// </summary>
internal sealed class NativeCancellation : IDisposable
{
    private readonly CancellationToken _token;
    private readonly CancelHandle _handle;
    private readonly CancellationTokenRegistration _registration;

    /// <summary>Throws <see cref="OperationCanceledException"/> when <paramref name="token"/> is already
    /// cancelled, before any native call; a token that can never be cancelled needs no native handle.</summary>
    internal NativeCancellation(CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        _token = token;
        if (!token.CanBeCanceled)
        {
            _handle = CancelHandle.None;
            return;
        }
        Native.Check(NativeMethods.rsess_cancel_new(out _handle));
        // Runs at once when the token was cancelled meanwhile.
        _registration = token.Register(CancelNative);
    }

    // The result is ignored: cancelling a live handle cannot fail, and a callback must not throw into
    // CancellationTokenSource.Cancel. Dispose unregisters before it frees the handle.
    private void CancelNative() => NativeMethods.rsess_cancel_cancel(_handle);

    /// <summary>The handle to pass to the native call (the empty handle when the token cannot be cancelled).</summary>
    internal CancelHandle Handle => _handle;

    /// <summary>As <see cref="Native.Check"/>, but a call stopped by this token throws
    /// <see cref="OperationCanceledException"/> whose inner exception is the native
    /// <see cref="ResultCode.Cancelled"/> failure.</summary>
    internal void Check(ResultCode code, IntPtr error)
    {
        try
        {
            Native.Check(code, error);
        }
        catch (RemoteSessionsException e) when (e.Code == ResultCode.Cancelled && _token.IsCancellationRequested)
        {
            throw new OperationCanceledException(e.Message, e, _token);
        }
    }

    /// <summary>Unregisters (waiting for a callback that is running) and frees the native handle.</summary>
    public void Dispose()
    {
        _registration.Dispose();
        if (_handle != CancelHandle.None) _handle.Dispose();
    }
}
