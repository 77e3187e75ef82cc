using System.Management.Automation;
using RemoteSessions.Native;
using RemoteSessions;
using RemoteSessions.Commands;

// The namespace of Windows' CimCmdlets: a FullyQualifiedErrorId ends in the cmdlet type's full name, so
// scripts that match Windows' ids (`Should -Throw -ErrorId`, catch filters) match these too.
namespace Microsoft.Management.Infrastructure.CimCmdlets;

// Inside this namespace Microsoft.Management.Infrastructure's own types would win: these are the module's.
using CimClass = RemoteSessions.CimClass;
using CimSession = RemoteSessions.CimSession;

/// <summary>
/// Get-CimClass (spec/cmdlet-behaviour.md §1.8): class declarations, on the given sessions, on temporary
/// sessions to -ComputerName, or on this machine. A class name without wildcards is one GetClass; a
/// wildcard (or none) reads every class of the namespace and filters here, as do -MethodName,
/// -PropertyName and -QualifierName. A failure on one session is a non-terminating error and the
/// others go on.
/// </summary>
[Cmdlet(VerbsCommon.Get, "CimClass", DefaultParameterSetName = ComputerSet)]
[Alias("gcls")]
[OutputType(typeof(CimClass))]
public sealed class GetCimClassCommand : CimOperationCommand
{
    private const string ComputerSet = "ComputerSet";
    private const string SessionSet = "SessionSet";
    private const string DefaultNamespace = @"root\cimv2";

    /// <summary>Class name; wildcards allowed. Null = every class.</summary>
    [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
    [ArgumentCompleter(typeof(CimClassNameCompleter))]
    public string? ClassName { get; set; }

    /// <summary>Namespace; default root\cimv2.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    public string? Namespace { get; set; }

    /// <summary>Only classes declaring a method whose name matches (wildcards).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? MethodName { get; set; }

    /// <summary>Only classes declaring a property whose name matches (wildcards).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? PropertyName { get; set; }

    /// <summary>Only classes carrying a qualifier whose name matches (wildcards).</summary>
    [Parameter(ValueFromPipelineByPropertyName = true)]
    public string? QualifierName { get; set; }

    /// <summary>
    /// Windows asks for localized (amended) qualifiers. Accepted for scripts written for Windows; the
    /// declarations read here carry only boolean qualifiers, which are never localized, so it changes nothing.
    /// </summary>
    [Parameter]
    public SwitchParameter Amended { get; set; }

    [Parameter(ParameterSetName = SessionSet, Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public CimSession[]? CimSession { get; set; }

    [Parameter(ParameterSetName = ComputerSet, ValueFromPipelineByPropertyName = true)]
    [Alias("CN", "ServerName")]
    [ValidateNotNullOrEmpty]
    public string[]? ComputerName { get; set; }

    protected override void ProcessRecord()
    {
        string ns = Namespace ?? DefaultNamespace;
        bool explicitTarget = CimSession is not null || ComputerName is not null;
        foreach (CimTarget target in Targets(CimSession, null, ComputerName))
        {
            (CimSession? session, NativeCimSession native, string? computer, _) = target;
            try
            {
                if (StopRequested) return;
                string shownComputer = (explicitTarget ? native.ComputerName : computer) ?? "";
                foreach (CimClassData data in Read(native, ns))
                {
                    if (StopRequested) return;
                    var cimClass = new CimClass(data, session);
                    if (Wanted(cimClass)) WriteObject(cimClass.ToPSObject(shownComputer));
                }
            }
            catch (RemoteSessionsException e) when (e.Code == ResultCode.InvalidClass && ClassName is not null && !WildcardPattern.ContainsWildcardCharacters(ClassName))
            {
                // A class asked for by name that does not exist is "Not found" (0x80041002) from
                // Windows' Get-CimClass, where Get-CimInstance says "Invalid class".
                WriteNativeError(new RemoteSessionsException(ResultCode.NotFound, e.Message), $"{ns}:{ClassName}", target);
            }
            catch (RemoteSessionsException e)
            {
                WriteNativeError(e, $"{ns}:{ClassName}", target);
            }
            catch (OperationCanceledException) when (StopRequested)
            {
                // Ctrl+C: the operation stopped as asked; nothing to report.
            }
            finally
            {
                CimTargets.Release(target);
            }
        }
    }

    private IEnumerable<CimClassData> Read(NativeCimSession session, string ns)
    {
        if (ClassName is { } name && !WildcardPattern.ContainsWildcardCharacters(name))
        {
            WriteVerbose($"Perform operation 'Get CimClass' with following parameters, 'namespaceName' = {ns},'className' = {name}.");
            return [session.GetClass(ns, name.Trim(), Cancel)];
        }
        WriteVerbose($"Perform operation 'Enumerate CimClasses' with following parameters, 'namespaceName' = {ns}.");
        return session.Classes(ns, Cancel);
    }

    private bool Wanted(CimClass c) =>
        Matches(ClassName, [c.CimClassName])
        && Matches(MethodName, c.CimClassMethods.Select(m => m.Name))
        && Matches(PropertyName, c.CimClassProperties.Select(p => p.Name))
        && Matches(QualifierName, c.CimClassQualifiers.Select(q => q.Name));

    /// <summary>True when no pattern is given or one of <paramref name="names"/> matches it (case-insensitive).</summary>
    private static bool Matches(string? pattern, IEnumerable<string> names)
    {
        if (string.IsNullOrEmpty(pattern)) return true;
        var wildcard = new WildcardPattern(pattern, WildcardOptions.IgnoreCase);
        return names.Any(wildcard.IsMatch);
    }
}
