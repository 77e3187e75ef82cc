# Runs the Pester suite (every *.Tests.ps1 in this folder) for tests/run.sh and writes what it found in
# machine-readable form: the counts from Pester's result object as JSON (-ResultPath), and Pester's
# NUnit XML report (-ReportPath) for CI viewers. Exits 0 only when every test ran and passed.
param(
    [Parameter(Mandatory)] [string] $ResultPath,
    [string] $ReportPath
)
# No script-wide $ErrorActionPreference = 'Stop' here: the tests inherit this scope's preferences, and
# they test the default (Continue) a user has, e.g. that a remote Write-Error is not terminating.
Import-Module Pester -MinimumVersion 5.0 -ErrorAction Stop

$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ($ReportPath) {
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputFormat = 'NUnitXml'
    $config.TestResult.OutputPath = $ReportPath
}
$r = Invoke-Pester -Configuration $config

# A failing BeforeAll/AfterAll fails a block, a file that does not parse fails its container: neither
# shows in FailedCount alone, so they count as failures too. Nothing in this suite is skipped on purpose,
# so skipped or not-run tests fail the suite as well.
$counts = [ordered]@{
    result          = "$($r.Result)"
    passed          = $r.PassedCount
    failed          = $r.FailedCount + $r.FailedBlocksCount + $r.FailedContainersCount
    skipped         = $r.SkippedCount
    notRun          = $r.NotRunCount
    total           = $r.TotalCount
    durationSeconds = [math]::Round($r.Duration.TotalSeconds, 1)
    files           = @($r.Containers | ForEach-Object {
        [ordered]@{ file = Split-Path -Leaf "$($_.Item)"; result = "$($_.Result)"; durationSeconds = [math]::Round($_.Duration.TotalSeconds, 1) }
    })
}
$counts | ConvertTo-Json -Depth 3 | Set-Content -Path $ResultPath -Encoding utf8
Write-Host ''
foreach ($f in $counts.files) { Write-Host ('pester: {0,-26} {1,-7} {2,6:N1} s' -f $f.file, $f.result, $f.durationSeconds) }
if ($r.Result -ne 'Passed' -or $counts.failed -gt 0 -or $counts.skipped -gt 0 -or $counts.notRun -gt 0 -or $counts.total -eq 0) { exit 1 }
exit 0
