using System.Management.Automation;
using RemoteSessions.TestPeers;
using Xunit;

namespace RemoteSessions.Tests;

/// <summary>
/// New-CimSession and Get-CimInstance over WS-Management against the replay server, which answers only
/// requests that match the recorded OMI traffic (../shared/fixtures) — so every answer also proves the
/// request was right. Misbehaviour comes from the server's <c>/misbehave/&lt;mode&gt;/wsman</c> paths.
/// </summary>
public sealed class WsmanCimTests : IClassFixture<ReplayServerFixture>, IDisposable
{
    private readonly PowerShellRunner _ps = new();
    private readonly ReplayServer _server;

    public WsmanCimTests(ReplayServerFixture server)
    {
        _server = server;
        // ConvertTo-SecureString is not in the engine's Core commands; NetworkCredential makes the SecureString.
        _ps.Run($"$cred = [pscredential]::new('{server.User}', [System.Net.NetworkCredential]::new('', '{server.Password}').SecurePassword); " +
                "$http = New-CimSessionOption -NoEncryption");
        Assert.Empty(_ps.Errors);
    }

    public void Dispose()
    {
        _ps.Run("Get-CimSession | Remove-CimSession");
        _ps.Dispose();
    }

    private string Http(string extra = "", string computer = "127.0.0.1", string options = "$http") =>
        $"New-CimSession -ComputerName {computer} -Port {_server.HttpPort} -Credential $cred -Authentication Basic -SessionOption {options} {extra}";

    /// <summary>What the user sees of an error: its details when set, else the exception's message.</summary>
    private static string Shown(ErrorRecord e) => e.ErrorDetails?.Message ?? e.Exception.Message;

    private ErrorRecord SingleError()
    {
        Assert.True(_ps.Errors.Count == 1, string.Join(" | ", _ps.Errors.Select(e => e.ToString())));
        return _ps.Errors[0];
    }

    [Fact]
    public void A_session_is_tested_with_identify_and_enumerates_with_computer_names()
    {
        _server.ClearRequests();
        PSObject s = _ps.Run($"$s = {Http()}; $s").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal(("WSMAN", "127.0.0.1", 1u), ((string)s.Properties["Protocol"].Value, (string)s.Properties["ComputerName"].Value, (uint)s.Properties["Id"].Value));
        Assert.Equal("identify - -", _server.Requests().Single());

        PSObject os = _ps.Run("Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("OMI", os.Properties["ProductName"].Value);
        Assert.Equal("127.0.0.1", os.Properties["PSComputerName"].Value);
        Assert.Contains("Microsoft.Management.Infrastructure.CimInstance#root/omi/OMI_Identify", os.TypeNames);
        Assert.Contains("enumerate Enumerate OMI_Identify", _server.Requests());
    }

    [Fact]
    public void Skip_test_connection_sends_nothing_until_used()
    {
        _server.ClearRequests();
        _ps.Run($"$s = {Http("-SkipTestConnection")}");
        Assert.Empty(_ps.Errors);
        Assert.Empty(_server.Requests());
        int closed = ClosedPort();
        PSObject lazy = _ps.Run($"New-CimSession -ComputerName 127.0.0.1 -Port {closed} -Credential $cred -Authentication Basic -SessionOption $http -SkipTestConnection").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal(2u, lazy.Properties["Id"].Value);
    }

    [Fact]
    public void Queries_go_to_the_server_and_values_are_typed_from_the_class()
    {
        _ps.Run($"$s = {Http()}");
        var wql = _ps.Run("Get-CimInstance -CimSession $s -Query \"SELECT Key,Last FROM MSFT_President WHERE First = 'James'\"");
        Assert.Empty(_ps.Errors);
        Assert.Equal(["Madison", "Monroe"], wql.Select(o => (string)o.Properties["Last"].Value));
        Assert.Equal([4u, 5u], wql.Select(o => (uint)o.Properties["Key"].Value));
        var cql = _ps.Run("Get-CimInstance -CimSession $s -Query 'SELECT * FROM MSFT_President WHERE Key = 2' -QueryDialect CQL");
        Assert.Empty(_ps.Errors);
        Assert.Equal("Adams", Assert.Single(cql).Properties["Last"].Value);
        Assert.Contains(_server.Requests(), r => r.StartsWith("getclass "));
    }

    [Fact]
    public void Ad_hoc_computer_names_run_without_a_registered_session()
    {
        var got = _ps.Run($"Get-CimInstance -ComputerName 127.0.0.1 -Port {_server.HttpPort} -Credential $cred -Authentication Basic -SessionOption $http -Namespace root/omi -ClassName OMI_Identify");
        Assert.Empty(_ps.Errors);
        Assert.Equal("127.0.0.1", Assert.Single(got).Properties["PSComputerName"].Value);
        Assert.Empty(_ps.Run("Get-CimSession"));
    }

    [Fact]
    public void Https_checks_the_certificate_unless_told_not_to()
    {
        string https = $"-Port {_server.HttpsPort} -Credential $cred -Authentication Basic";
        _ps.Run($"New-CimSession -ComputerName localhost {https} -SessionOption (New-CimSessionOption -UseSsl)");
        ErrorRecord untrusted = SingleError();
        Assert.Equal(ErrorCategory.SecurityError, untrusted.CategoryInfo.Category);
        Assert.Contains("-SkipCACheck", Shown(untrusted));

        // The name is checked without the chain: localhost is in the certificate, an IP address cannot be checked.
        PSObject s = _ps.Run($"New-CimSession -ComputerName localhost {https} -SessionOption (New-CimSessionOption -UseSsl -SkipCACheck)").Single();
        Assert.Empty(_ps.Errors);
        _ps.Run($"New-CimSession -ComputerName 127.0.0.1 {https} -SessionOption (New-CimSessionOption -UseSsl -SkipCACheck)");
        Assert.Contains("-SkipCNCheck", Shown(SingleError()));

        _ps.Run($"$t = New-CimSession -ComputerName 127.0.0.1 {https} -SessionOption (New-CimSessionOption -UseSsl -SkipCACheck -SkipCNCheck)");
        Assert.Empty(_ps.Errors);
        PSObject os = _ps.Run("Get-CimInstance -CimSession $t -Namespace root/omi -ClassName OMI_Identify").Single();
        Assert.Equal("OMI", os.Properties["ProductName"].Value);
        Assert.Equal(2u, _ps.Run("$t.Id").Single().BaseObject);
    }

    [Fact]
    public void Basic_over_http_needs_no_encryption()
    {
        _ps.Run($"New-CimSession -ComputerName 127.0.0.1 -Port {_server.HttpPort} -Credential $cred -Authentication Basic");
        ErrorRecord e = SingleError();
        Assert.Equal(ErrorCategory.InvalidArgument, e.CategoryInfo.Category);
        Assert.Contains("-NoEncryption", Shown(e));
        Assert.Empty(_ps.Run("Get-CimSession"));
    }

    [Fact]
    public void Refused_credentials_and_closed_ports_are_clear_errors_that_consume_no_id()
    {
        _ps.Run($"$bad = [pscredential]::new('{_server.User}', [System.Net.NetworkCredential]::new('', 'wrong').SecurePassword); " +
                $"New-CimSession -ComputerName 127.0.0.1 -Port {_server.HttpPort} -Credential $bad -Authentication Basic -SessionOption $http");
        ErrorRecord denied = SingleError();
        Assert.Equal("HRESULT 0x80070005,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand", denied.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.PermissionDenied, denied.CategoryInfo.Category);
        Assert.Equal("127.0.0.1", Assert.IsType<System.Management.Automation.Runspaces.RemotingErrorRecord>(denied).OriginInfo.PSComputerName);
        Assert.Contains("127.0.0.1", Shown(denied));
        Assert.DoesNotContain("wrong", Shown(denied) + denied.Exception);

        _ps.Run($"New-CimSession -ComputerName 127.0.0.1 -Port {ClosedPort()} -Credential $cred -Authentication Basic -SessionOption $http");
        ErrorRecord refused = SingleError();
        Assert.Equal("HRESULT 0x80338012,Microsoft.Management.Infrastructure.CimCmdlets.NewCimSessionCommand", refused.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ConnectionError, refused.CategoryInfo.Category);
        Assert.Contains("refused", Shown(refused));

        Assert.Equal(1u, _ps.Run($"({Http()}).Id").Single().BaseObject);
    }

    [Theory]
    [InlineData("fault500", "HRESULT 0x80041002", ErrorCategory.ObjectNotFound, "CIM status 6")]
    [InlineData("truncated", "HRESULT 0x80338012", ErrorCategory.ConnectionError, "before its reply was complete")]
    [InlineData("drop", "HRESULT 0x80338012", ErrorCategory.ConnectionError, "127.0.0.1")]
    [InlineData("content-type", "CimBadReply", ErrorCategory.ProtocolError, "text/html")]
    [InlineData("garbage", "CimBadReply", ErrorCategory.ProtocolError, "not well-formed")]
    [InlineData("401", "HRESULT 0x80070005", ErrorCategory.PermissionDenied, "HTTP 401")]
    public void Misbehaving_servers_give_errors_that_name_what_went_wrong(string mode, string errorId, ErrorCategory category, string text)
    {
        _ps.Run($"$s = {Http("-SkipTestConnection", options: $"(New-CimSessionOption -NoEncryption -HttpPrefix misbehave/{mode}/wsman)")}");
        Assert.Empty(_ps.Run("Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify"));
        ErrorRecord e = SingleError();
        Assert.Equal(errorId + ",Microsoft.Management.Infrastructure.CimCmdlets.GetCimInstanceCommand", e.FullyQualifiedErrorId);
        Assert.Equal(category, e.CategoryInfo.Category);
        Assert.Contains(text, Shown(e));
        Assert.Equal("127.0.0.1", Assert.IsType<System.Management.Automation.Runspaces.RemotingErrorRecord>(e).OriginInfo.PSComputerName);
    }

    [Fact]
    public void Split_headers_and_slow_servers()
    {
        _ps.Run($"$split = {Http(options: "(New-CimSessionOption -NoEncryption -HttpPrefix misbehave/split/wsman)")}");
        Assert.Empty(_ps.Errors);
        Assert.Single(_ps.Run("Get-CimInstance -CimSession $split -Namespace root/omi -ClassName OMI_Identify"));
        _ps.Run($"$slow = {Http("-SkipTestConnection -OperationTimeoutSec 1", options: "(New-CimSessionOption -NoEncryption -HttpPrefix misbehave/slow-4000/wsman)")}");
        _ps.Run("Get-CimInstance -CimSession $slow -Namespace root/omi -ClassName OMI_Identify");
        Assert.Equal(ErrorCategory.OperationTimeout, SingleError().CategoryInfo.Category);
    }

    [Fact]
    public void Enumerated_instances_know_their_keys_from_their_endpoint_references()
    {
        // OMI declares MSFT_President without Key qualifiers; asked as Windows' client asks
        // (EnumerateObjectAndEPR), every instance comes with its EPR, whose selector Key is its key.
        _ps.Run($"$s = {Http()}");
        _server.ClearRequests();
        _ps.Run("$adams = Get-CimInstance -CimSession $s -Query 'SELECT * FROM MSFT_President WHERE Key = 2' -QueryDialect CQL");
        Assert.Empty(_ps.Errors);
        Assert.Equal("Key", _ps.Run("($adams.CimInstanceProperties | Where-Object { $_.Flags -band [RemoteSessions.CimFlags]::Key }).Name").Single().BaseObject);
        Assert.Equal(["enumerate-cql Enumerate MSFT_President"], _server.Requests().Where(r => r.EndsWith(" Enumerate MSFT_President")));
        // The key finds it again: a Get with the selector Key = 2 (no recording has that Get: the
        // server's no-match answer shows what was sent).
        _server.ClearRequests();
        _ps.Run("$adams | Get-CimInstance");
        Assert.Contains("request has {__cimnamespace=root/cimv2, key=2}", Shown(SingleError()));
        Assert.Equal(["NOMATCH Get MSFT_President"], _server.Requests());
    }

    [Fact]
    public void An_enumeration_of_endless_empty_pages_ends_with_an_error_and_the_session_goes_on()
    {
        _ps.Run($"$endless = {Http("-SkipTestConnection", options: "(New-CimSessionOption -NoEncryption -HttpPrefix misbehave/empty-pulls/wsman)")}");
        _server.ClearRequests();
        Assert.Empty(_ps.Run("Get-CimInstance -CimSession $endless -Namespace root/omi -ClassName OMI_Identify"));
        ErrorRecord e = SingleError();
        Assert.Equal(("CimBadReply", ErrorCategory.ProtocolError), (e.FullyQualifiedErrorId.Split(',')[0], e.CategoryInfo.Category));
        Assert.Contains("64 Pulls in a row with no instance", e.Exception.Message);
        Assert.Equal(64, _server.Requests().Count(r => r == "empty-pulls Pull OMI_Identify"));
        Assert.Contains("release Release OMI_Identify", _server.Requests());
        _ps.Run($"$s = {Http()}");
        Assert.Single(_ps.Run("Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify"));
        Assert.Empty(_ps.Errors);
    }

    [Fact]
    public void Stopping_a_command_that_waits_for_a_slow_server_is_silent()
    {
        _ps.Run($"$slow = {Http("-SkipTestConnection", options: "(New-CimSessionOption -NoEncryption -HttpPrefix misbehave/slow-600000/wsman)")}");
        _server.ClearRequests();
        // Ctrl+C once the server holds the request: the wire operation stops, and no error is written.
        var state = _ps.RunAndStop("Get-CimInstance -CimSession $slow -Namespace root/omi -ClassName OMI_Identify", () => _server.Requests().Count > 0);
        Assert.Equal(PSInvocationState.Stopped, state);
        Assert.Empty(_ps.Errors);
        // One request went out and was stopped: the class declaration's Get, which comes before the Enumerate.
        Assert.EndsWith(" Get *", Assert.Single(_server.Requests()));
        _ps.Run($"$s = {Http()}");
        Assert.Single(_ps.Run("Get-CimInstance -CimSession $s -Namespace root/omi -ClassName OMI_Identify"));
        Assert.Empty(_ps.Errors);
    }

    [Fact]
    public void A_fan_out_keeps_going_past_a_failing_computer()
    {
        _ps.Run($"$good = @(({Http()}), ({Http(computer: "localhost")})); " +
                $"$bad = New-CimSession -ComputerName 127.0.0.1 -Port {ClosedPort()} -Credential $cred -Authentication Basic -SessionOption $http -SkipTestConnection -Name bad");
        var got = _ps.Run("Get-CimInstance -CimSession $good[0], $bad, $good[1] -Namespace root/omi -ClassName OMI_Identify");
        Assert.Equal(["127.0.0.1", "localhost"], got.Select(o => (string)o.Properties["PSComputerName"].Value));
        Assert.Equal(ErrorCategory.ConnectionError, SingleError().CategoryInfo.Category);
    }

    [Fact]
    public void Long_enumerations_stream_across_pulls_and_an_early_stop_releases_the_context()
    {
        string synthetic = "(New-CimSessionOption -NoEncryption -HttpPrefix 'wsman?synthetic=70000')";
        _ps.Run($"$big = {Http("-SkipTestConnection", options: synthetic)}");
        _server.ClearRequests();
        Assert.Equal(70000, _ps.Run("$n = 0; Get-CimInstance -CimSession $big -Namespace root/test -ClassName XYZ_Number | ForEach-Object { $n++ }; $n").Single().BaseObject);
        Assert.Empty(_ps.Errors);
        // Pages end where the next instance and its EPR would not fit in the 512000-byte MaxEnvelopeSize (~800 each).
        Assert.InRange(_server.Requests().Count(r => r.Contains(" Pull XYZ_Number")), 70, 100);
        // Nothing but Pulls while the context was open (a server such as OMI would not answer): the
        // declaration that types Number was asked for before the Enumerate, or was known.
        Assert.DoesNotContain(_server.Requests(), r => r.StartsWith("busy "));
        Assert.All(_server.Requests().SkipWhile(r => !r.EndsWith(" Enumerate XYZ_Number")), r => Assert.DoesNotContain(" Get ", r));
        var first = _ps.Run("do { Get-CimInstance -CimSession $big -Namespace root/test -ClassName XYZ_Number | ForEach-Object { $_.Number.GetType().Name; break } } while ($false)");
        Assert.Empty(_ps.Errors);
        Assert.Equal("UInt64", first.Single().BaseObject);

        _server.ClearRequests();
        _ps.Run("Get-CimInstance -CimSession $big -Namespace root/test -ClassName XYZ_Number | ForEach-Object { break }");
        for (int i = 0; i < 50 && !_server.Requests().Any(r => r.Contains(" Release ")); i++) Thread.Sleep(20);
        Assert.Contains(_server.Requests(), r => r.Contains(" Release XYZ_Number"));
    }

    [Fact]
    public void Invoke_cim_method_calls_a_static_method()
    {
        _ps.Run($"$s = {Http()}");
        PSObject spell = _ps.Run("Invoke-CimMethod -CimSession $s -Namespace root/test -ClassName X_SmallNumber -MethodName SpellNumber -Arguments @{ num = [uint16]42 }").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("forty two", spell.Properties["ReturnValue"].Value);
        Assert.Equal("127.0.0.1", spell.Properties["PSComputerName"].Value);
        Assert.Equal("Microsoft.Management.Infrastructure.CimMethodResult#X_SmallNumber#SpellNumber", spell.TypeNames[0]);
        Assert.Contains("invoke-static SpellNumber X_SmallNumber", _server.Requests());
        _ps.Run("Invoke-CimMethod -ClassName Win32_OperatingSystem -MethodName Reboot");
        Assert.Equal(ErrorCategory.MetadataError, SingleError().CategoryInfo.Category);
    }

    [Fact]
    public void Invoke_cim_method_takes_a_resource_uri_or_a_declared_class()
    {
        _ps.Run($"$s = {Http()}");
        PSObject byUri = _ps.Run("Invoke-CimMethod -CimSession $s -ResourceUri http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/X_SmallNumber -Namespace root/test -MethodName SpellNumber -Arguments @{ num = [uint16]42 }").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("forty two", byUri.Properties["ReturnValue"].Value);
        Assert.Equal("Microsoft.Management.Infrastructure.CimMethodResult#X_SmallNumber#SpellNumber", byUri.TypeNames[0]);

        // The declaration checks the method and parameters and converts the arguments: '0x2A' is sent as 42.
        string synthetic = "(New-CimSessionOption -NoEncryption -HttpPrefix 'wsman?synthetic=10')";
        _ps.Run($"$n = {Http("-SkipTestConnection", options: synthetic)}; $c = Get-CimClass -CimSession $n -Namespace root/test -ClassName XYZ_Number");
        Assert.Empty(_ps.Errors);
        Assert.Equal("Spell|Static|num:UInt64:In|digits:UInt8Array:Out", _ps.Run(
            "$m = $c.CimClassMethods['Spell']; '{0}|{1}|{2}' -f $m.Name, ($m.Qualifiers.Name -join ','), (($m.Parameters | ForEach-Object { '{0}:{1}:{2}' -f $_.Name, $_.CimType, ($_.Qualifiers.Name -join ',') }) -join '|')").Single().BaseObject);
        PSObject spelled = _ps.Run("$c | Invoke-CimMethod -MethodName Spell -Arguments @{ num = '0x2A' }").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("four two", spelled.Properties["ReturnValue"].Value);
        Assert.Equal(new byte[] { 4, 2 }, spelled.Properties["digits"].Value);
        Assert.Equal("127.0.0.1", spelled.Properties["PSComputerName"].Value);
        Assert.Contains("Microsoft.Management.Infrastructure.CimMethodResult#XYZ_Number#Spell", spelled.TypeNames);

        // As on Windows, an undeclared method or parameter stops the cmdlet (a terminating error).
        var noMethod = _ps.Run("try { Invoke-CimMethod -CimClass $c -MethodName Nope -Arguments @{ n = 1 }; 'went on' } catch { $_ }").Single().BaseObject as ErrorRecord;
        Assert.NotNull(noMethod);
        Assert.Equal(("System.ArgumentException", "Can not find method 'Nope' in class 'XYZ_Number'."), (noMethod!.FullyQualifiedErrorId.Split(',')[0], noMethod.Exception.Message));
        var noParameter = _ps.Run("try { Invoke-CimMethod -CimClass $c -MethodName Spell -Arguments @{ count = 1 }; 'went on' } catch { $_ }").Single().BaseObject as ErrorRecord;
        Assert.Equal("Can not find Parameter 'count' in method 'Spell' of class 'XYZ_Number'.", noParameter!.Exception.Message);
        var badValue = _ps.Run("try { Invoke-CimMethod -CimClass $c -MethodName Spell -Arguments @{ num = 'many' }; 'went on' } catch { $_ }").Single().BaseObject as ErrorRecord;
        Assert.Equal(("System.ArgumentException", ErrorCategory.NotSpecified), (badValue!.FullyQualifiedErrorId.Split(',')[0], badValue.CategoryInfo.Category));
    }

    [Fact]
    public void An_instance_goes_back_to_its_session_or_once_removed_to_its_computer()
    {
        _ps.Run($"$s = {Http()}; $third = New-CimInstance -ClassName MSFT_President -Property @{{ Key = [uint32]3 }} -Key Key -ClientOnly | Get-CimInstance -CimSession $s");
        Assert.Empty(_ps.Errors);
        _server.ClearRequests();
        Assert.Equal("Jefferson", _ps.Run("($third | Get-CimInstance).Last").Single().BaseObject);
        Assert.Contains(_server.Requests(), r => r.EndsWith(" Get MSFT_President") && !r.StartsWith("NOMATCH"));
        _ps.Run("Remove-CimSession $s");
        _server.ClearRequests();
        Assert.Equal("Jefferson", _ps.Run($"($third | Get-CimInstance -Credential $cred -Authentication Basic -SessionOption $http -Port {_server.HttpPort}).Last").Single().BaseObject);
        Assert.Empty(_ps.Errors);
        Assert.Contains(_server.Requests(), r => r.EndsWith(" Get MSFT_President") && !r.StartsWith("NOMATCH"));
        Assert.Empty(_ps.Run("Get-CimSession"));
    }

    [Fact]
    public void A_wmi_resource_uri_is_sent_as_given_without_a_namespace_selector()
    {
        _ps.Run($"$s = {Http()}");
        _server.ClearRequests();
        // OMI knows no WMI URIs: its recorded answer is a namespace fault, which proves the request's shape.
        Assert.Empty(_ps.Run("New-CimInstance -ClassName MSFT_President -Property @{ Key = [uint32]3 } -Key Key -ClientOnly | " +
                             "Get-CimInstance -CimSession $s -ResourceUri http://schemas.microsoft.com/wbem/wsman/1/wmi/root/cimv2/MSFT_President"));
        Assert.StartsWith("HRESULT 0x8004100e", SingleError().FullyQualifiedErrorId);
        Assert.Equal(["get-wmiuri Get MSFT_President"], _server.Requests());
    }

    [Fact]
    public void Instances_are_created_changed_and_deleted()
    {
        _ps.Run($"$s = {Http()}");
        PSObject created = _ps.Run("New-CimInstance -CimSession $s -ClassName MSFT_Person -Property ([ordered]@{ Key = [uint32]8; First = 'Grace'; Last = 'Hopper' })").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("Hopper", created.Properties["Last"].Value);
        Assert.Equal("127.0.0.1", created.Properties["PSComputerName"].Value);
        Assert.Contains("conn003 Create MSFT_Person", _server.Requests());

        PSObject changed = _ps.Run("New-CimInstance -ClassName MSFT_Person -Property ([ordered]@{ Key = [uint32]1234; First = 'X' }) -Key Key -ClientOnly | " +
                                   "Set-CimInstance -CimSession $s -PassThru").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("X", changed.Properties["First"].Value);
        Assert.Null(changed.Properties["Last"].Value);
        Assert.Empty(_ps.Run("New-CimInstance -ClassName MSFT_Person -Property ([ordered]@{ Key = [uint32]1234; First = 'X' }) -Key Key -ClientOnly | Set-CimInstance -CimSession $s"));

        _ps.Run("New-CimInstance -ClassName MSFT_Person -Property @{ Key = [uint32]9 } -Key Key -ClientOnly | Remove-CimInstance -CimSession $s -WhatIf");
        Assert.DoesNotContain(_server.Requests(), r => r.Contains(" Delete "));
        Assert.Empty(_ps.Run("New-CimInstance -ClassName MSFT_Person -Property @{ Key = [uint32]9 } -Key Key -ClientOnly | Remove-CimInstance -CimSession $s"));
        Assert.Empty(_ps.Errors);
        Assert.Contains("conn011 Delete MSFT_Person", _server.Requests());

        _ps.Run("Get-CimInstance Win32_OperatingSystem | Remove-CimInstance");
        Assert.Equal(ErrorCategory.NotImplemented, SingleError().CategoryInfo.Category);
        _ps.Run("New-CimInstance -ClassName MSFT_Person -Property @{ First = 'nokey' } -ClientOnly | Remove-CimInstance -CimSession $s");
        Assert.Contains("no key properties", Shown(SingleError()));
    }

    [Fact]
    public void Get_cim_class_reads_the_servers_declaration()
    {
        _ps.Run($"$s = {Http()}");
        _server.ClearRequests();
        PSObject c = _ps.Run("Get-CimClass -CimSession $s -ClassName MSFT_President").Single();
        Assert.Empty(_ps.Errors);
        Assert.Equal("getclass Get *", _server.Requests().Single());
        Assert.Equal("Microsoft.Management.Infrastructure.CimClass#root/cimv2/MSFT_President", c.TypeNames[0]);
        Assert.Equal("127.0.0.1", c.Properties["PSComputerName"].Value);
        _ps.Run("$c = Get-CimClass -CimSession $s -ClassName MSFT_President");
        Assert.Equal("MSFT_President||Key,First,Last|UInt32|root/cimv2:MSFT_President",
            _ps.Run("'{0}|{1}|{2}|{3}|{4}' -f $c.CimClassName, $c.CimSuperClassName, ($c.CimClassProperties.Name -join ','), $c.CimClassProperties['key'].CimType, $c").Single().BaseObject);
        Assert.Empty(_ps.Run("Get-CimClass -CimSession $s -ClassName MSFT_President -PropertyName Nope"));
        Assert.Single(_ps.Run("Get-CimClass -CimSession $s -ClassName MSFT_President -PropertyName F*"));
        Assert.Empty(_ps.Errors);

        // Listing classes is a fault on OMI: one clear error naming the computer, nothing written.
        Assert.Empty(_ps.Run("Get-CimClass -CimSession $s -ClassName MSFT_*"));
        ErrorRecord e = SingleError();
        Assert.Equal("127.0.0.1", ((System.Management.Automation.Runspaces.RemotingErrorRecord)e).OriginInfo.PSComputerName);
    }

    [Fact]
    public void Associated_instances_follow_the_association_as_they_arrive()
    {
        string synthetic = "(New-CimSessionOption -NoEncryption -HttpPrefix 'wsman?synthetic=10')";
        _ps.Run($"$n = {Http("-SkipTestConnection", options: synthetic)}; " +
                "$five = New-CimInstance -ClassName XYZ_Number -Namespace root/test -Property @{ Number = [uint32]5 } -Key Number -ClientOnly");
        Assert.Empty(_ps.Errors);
        var both = _ps.Run("$five | Get-CimAssociatedInstance -CimSession $n -Association XYZ_NumberNeighbors");
        Assert.Empty(_ps.Errors);
        Assert.Equal(["4", "6"], both.Select(o => o.Properties["Number"].Value.ToString()));
        Assert.All(both, o => Assert.Equal("127.0.0.1", o.Properties["PSComputerName"].Value));
        Assert.Contains("Microsoft.Management.Infrastructure.CimInstance#root/test/XYZ_Number", both[0].TypeNames);
        Assert.Equal(["4", "6"], _ps.Run("Get-CimAssociatedInstance $five -CimSession $n -ResultClassName XYZ_Number").Select(o => o.Properties["Number"].Value.ToString()));
        Assert.Equal(["3", "5"], _ps.Run("@($five | Get-CimAssociatedInstance -CimSession $n)[0] | Get-CimAssociatedInstance").Select(o => o.Properties["Number"].Value.ToString()));
        Assert.Empty(_ps.Run("Get-CimAssociatedInstance $five XYZ_Other -CimSession $n"));
        PSObject key = _ps.Run("Get-CimAssociatedInstance $five -CimSession $n -KeyOnly").First();
        Assert.Equal("Microsoft.Management.Infrastructure.CimInstance#__PartialCIMInstance", key.TypeNames[0]);
        Assert.Equal("Number", _ps.Run("(Get-CimAssociatedInstance $five -CimSession $n -KeyOnly)[0].CimInstanceProperties.Name").Single().BaseObject);
        Assert.Empty(_ps.Errors);

        // No key to name the source by, and a server that does not know the request: clear errors.
        _ps.Run("New-CimInstance -ClassName XYZ_Number -Property @{ Number = [uint32]1 } -ClientOnly | Get-CimAssociatedInstance -CimSession $n");
        Assert.Contains("no key properties", Shown(SingleError()));
        _ps.Run($"$s = {Http()}; New-CimInstance -ClassName MSFT_President -Property @{{ Key = [uint32]1 }} -Key Key -ClientOnly | Get-CimAssociatedInstance -CimSession $s -Association MSFT_PresidentLink");
        Assert.Contains("replay: no fixture matches", Shown(SingleError()));
    }

    private static int ClosedPort()
    {
        var l = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        l.Start();
        int port = ((System.Net.IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>The C# library alone (no PowerShell) against the replay server: sessions, queries, Invoke.</summary>
public sealed class WsmanBindingTests(ReplayServerFixture server) : IClassFixture<ReplayServerFixture>
{
    private RemoteSessions.Native.CimSession Connect(RemoteSessions.Native.SessionScope scope, string? password = null) =>
        scope.NewSession("127.0.0.1", options: new RemoteSessions.Native.CimSessionOptions { Port = (uint)server.HttpPort, NoEncryption = true },
            credential: new RemoteSessions.Native.CimCredential(RemoteSessions.Native.CimAuthenticationMechanism.Basic, server.User, password ?? server.Password));

    [Fact]
    public void Sessions_queries_and_methods_through_the_library()
    {
        using var scope = new RemoteSessions.Native.SessionScope();
        using var s = Connect(scope);
        Assert.Equal("WSMAN", s.Protocol);
        var james = s.Query("root/cimv2", "WQL", "SELECT Key,Last FROM MSFT_President WHERE First = 'James'").ToList();
        Assert.Equal([4u, 5u], james.Select(i => i.Properties.Single(p => p.Name == "Key").Value));
        var sum = s.Invoke("root/cimv2", "MSFT_Person", [("Key", "8")], "Add", [("X", (object?)40f), ("Y", 2.5f)]);
        Assert.Equal("Add_OUTPUT", sum.ClassName);
        Assert.Equal("42.5", sum.Properties.Single(p => p.Name == "Z").Value);
        Assert.Equal("100", sum.Properties.Single(p => p.Name == "ReturnValue").Value);
        var president = s.GetInstance("root/cimv2", "MSFT_President", [("Key", "3")]);
        Assert.Equal("Jefferson", president.Properties.Single(p => p.Name == "Last").Value);
        var missing = Assert.Throws<RemoteSessions.Native.RemoteSessionsException>(() => s.GetInstance("root/cimv2", "MSFT_President", [("Key", "99")]));
        Assert.Equal(RemoteSessions.Native.ResultCode.NotFound, missing.Code);
        Assert.Equal(6u, missing.CimStatus);
        Assert.Equal(500, missing.HttpStatus ?? 0);
        Assert.False(string.IsNullOrEmpty(missing.FaultCode));
    }

    [Fact]
    public void Associations_and_class_declarations_through_the_library()
    {
        using var scope = new RemoteSessions.Native.SessionScope();
        using var s = Connect(scope);
        var next = s.Associators("root/cimv2", "MSFT_President", [("Key", "1")], "MSFT_PresidentLink", "MSFT_President", "Prev", "Next").Single();
        Assert.Equal(("MSFT_President", "Adams"), (next.ClassName, next.Properties.Single(p => p.Name == "Last").Value));
        // The declaration names no key; the item's EPR does.
        Assert.Equal(["Key"], next.Properties.Where(p => p.IsKey).Select(p => p.Name));
        var link = s.References("root/cimv2", "MSFT_President", [("Key", "1")], "MSFT_PresidentLink", "Prev").Single();
        Assert.Equal(RemoteSessions.Native.CimType.Reference, link.Properties.Single(p => p.Name == "Next").CimType);
        Assert.Equal("MSFT_President.Key=\"2\"", link.Properties.Single(p => p.Name == "Next").Value);
        var president = s.GetClass(@"root\cimv2", "MSFT_President");
        Assert.Equal(("MSFT_President", "root/cimv2", "127.0.0.1"), (president.ClassName, president.Namespace, president.ServerName));
        Assert.Equal([RemoteSessions.Native.CimType.UInt32, RemoteSessions.Native.CimType.String, RemoteSessions.Native.CimType.String], president.Properties.Select(p => p.CimType));
        Assert.Throws<RemoteSessions.Native.RemoteSessionsException>(() => s.Classes("root/cimv2"));
    }

    [Fact]
    public void Refused_credentials_and_cancelled_enumerations_have_their_codes()
    {
        using var scope = new RemoteSessions.Native.SessionScope();
        var denied = Assert.Throws<RemoteSessions.Native.RemoteSessionsException>(() => Connect(scope, "wrong"));
        Assert.Equal(RemoteSessions.Native.ResultCode.AccessDenied, denied.Code);
        Assert.Equal((ushort)401, denied.HttpStatus);
        Assert.Null(denied.CimStatus);
        Assert.DoesNotContain("wrong", denied.Message);
        using var s = scope.NewSession("127.0.0.1", options: new RemoteSessions.Native.CimSessionOptions { Port = (uint)server.HttpPort, NoEncryption = true, HttpPrefix = "wsman?synthetic=70000" },
            credential: new RemoteSessions.Native.CimCredential(RemoteSessions.Native.CimAuthenticationMechanism.Basic, server.User, server.Password), skipTestConnection: true);
        using var cancel = new CancellationTokenSource();
        int n = 0;
        var e = Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (var _ in s.Enumerate("root/test", "XYZ_Number", cancellationToken: cancel.Token))
                if (++n == 10) cancel.Cancel();
        });
        Assert.Equal(cancel.Token, e.CancellationToken);
        Assert.Equal(RemoteSessions.Native.ResultCode.Cancelled, Assert.IsType<RemoteSessions.Native.RemoteSessionsException>(e.InnerException).Code);
        Assert.Equal(10, n);
    }

    [Fact]
    public void A_cancelled_token_stops_every_operation_before_it_sends_anything()
    {
        using var scope = new RemoteSessions.Native.SessionScope();
        using var s = Connect(scope);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        server.ClearRequests();
        Action[] operations =
        [
            () => s.Enumerate("root/omi", "OMI_Identify", cancellationToken: cancelled.Token).ToList(),
            () => s.Query("root/cimv2", "WQL", "SELECT * FROM MSFT_President", cancellationToken: cancelled.Token).ToList(),
            () => s.Associators("root/cimv2", "MSFT_President", [("Key", "1")], cancellationToken: cancelled.Token).ToList(),
            () => s.References("root/cimv2", "MSFT_President", [("Key", "1")], cancellationToken: cancelled.Token).ToList(),
            () => s.GetInstance("root/cimv2", "MSFT_President", [("Key", "3")], cancelled.Token),
            () => s.Invoke("root/cimv2", "MSFT_Person", [("Key", "8")], "Add", [("X", (object?)40f), ("Y", 2.5f)], cancelled.Token),
            () => s.CreateInstance("root/cimv2", "MSFT_Person", [("Key", (object?)"9")], cancelled.Token),
            () => s.ModifyInstance("root/cimv2", "MSFT_Person", [("Key", "8")], [("Last", (object?)"X")], cancelled.Token),
            () => s.DeleteInstance("root/cimv2", "MSFT_Person", [("Key", "8")], cancelled.Token),
            () => s.GetClass("root/cimv2", "MSFT_President", cancelled.Token),
            () => s.Classes("root/cimv2", cancelled.Token),
        ];
        foreach (Action operation in operations)
        {
            var e = Assert.Throws<OperationCanceledException>(operation);
            Assert.Equal(cancelled.Token, e.CancellationToken);
            Assert.Null(e.InnerException);
        }
        Assert.Empty(server.Requests());
        // A stream is lazy: making it sends nothing and throws nothing; enumerating it does.
        IEnumerable<RemoteSessions.Native.CimInstanceData> later = s.Enumerate("root/omi", "OMI_Identify", cancellationToken: cancelled.Token);
        Assert.Empty(server.Requests());
        Assert.Throws<OperationCanceledException>(() => later.First());
    }

    [Fact]
    public void Cancelling_mid_enumeration_stops_the_wire_operation()
    {
        using var scope = new RemoteSessions.Native.SessionScope();
        using var s = scope.NewSession("127.0.0.1", options: new RemoteSessions.Native.CimSessionOptions { Port = (uint)server.HttpPort, NoEncryption = true, HttpPrefix = "wsman?synthetic=70000" },
            credential: new RemoteSessions.Native.CimCredential(RemoteSessions.Native.CimAuthenticationMechanism.Basic, server.User, server.Password), skipTestConnection: true);
        server.ClearRequests();
        using var cancel = new CancellationTokenSource();
        using (IEnumerator<RemoteSessions.Native.CimInstanceData> items = s.Enumerate("root/test", "XYZ_Number", cancellationToken: cancel.Token).GetEnumerator())
        {
            Assert.True(items.MoveNext());
            cancel.Cancel();
            Assert.Throws<OperationCanceledException>(() => items.MoveNext());
        }
        // The whole enumeration needs two Pulls after the Enumerate; the cancelled one asked for no more.
        Assert.Contains(server.Requests(), r => r.EndsWith(" Enumerate XYZ_Number"));
        Assert.DoesNotContain(server.Requests(), r => r.Contains(" Pull "));
        // The session still works.
        Assert.Equal(3, s.Enumerate("root/test", "XYZ_Number").Take(3).Count());
    }

    [Fact]
    public void Cancelling_stops_a_call_that_waits_for_a_slow_server()
    {
        using var scope = new RemoteSessions.Native.SessionScope();
        using var s = scope.NewSession("127.0.0.1", options: new RemoteSessions.Native.CimSessionOptions { Port = (uint)server.HttpPort, NoEncryption = true, HttpPrefix = "misbehave/slow-600000/wsman" },
            credential: new RemoteSessions.Native.CimCredential(RemoteSessions.Native.CimAuthenticationMechanism.Basic, server.User, server.Password), skipTestConnection: true);
        Action<CancellationToken>[] operations =
        [
            token => s.Enumerate("root/omi", "OMI_Identify", cancellationToken: token).ToList(),
            token => s.GetInstance("root/cimv2", "MSFT_President", [("Key", "3")], token),
        ];
        foreach (Action<CancellationToken> operation in operations)
        {
            server.ClearRequests();
            using var cancel = new CancellationTokenSource();
            Task waiting = Task.Run(() => operation(cancel.Token));
            // Cancel once the server holds the request (it logs a request before it delays the answer).
            for (int i = 0; i < 3000 && server.Requests().Count == 0 && !waiting.IsCompleted; i++) Thread.Sleep(20);
            Assert.False(waiting.IsCompleted);
            cancel.Cancel();
            var e = Assert.Throws<OperationCanceledException>(() => waiting.GetAwaiter().GetResult());
            Assert.Equal(cancel.Token, e.CancellationToken);
            Assert.Equal(RemoteSessions.Native.ResultCode.Cancelled, Assert.IsType<RemoteSessions.Native.RemoteSessionsException>(e.InnerException).Code);
        }
    }
}
