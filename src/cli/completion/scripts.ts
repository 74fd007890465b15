// The completion scripts for bash, zsh, fish and PowerShell, and the kubectl helper. Each runs
// `<program> __complete WORDS...` and turns its lines into the shell's candidates.

export const SHELLS = ['bash', 'zsh', 'fish', 'powershell', 'kubectl'] as const;
export type Shell = (typeof SHELLS)[number];

export const PROGRAM = 'kubectl-vcluster_certs';
export const SHIM_NAME = 'kubectl_complete-vcluster_certs';

/** Same bytes as completion/kubectl_complete-vcluster_certs (the file in the release archives). */
export const KUBECTL_SHIM = `#!/bin/sh
# kubectl >= 1.26 runs this for \`kubectl vcluster-certs <TAB>\`: keep it on PATH
# next to kubectl-vcluster_certs. Prints candidates, one per line, then :<directive>.
exec kubectl-vcluster_certs __complete "$@"
`;

const fnName = (p: string) => `__${p.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;

function bashScript(names: string[]): string {
  const fn = fnName(PROGRAM);
  return `# bash completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this shell:  source <(${PROGRAM} completion bash)
# Every new shell: add that line to ~/.bashrc.
# \`kubectl vcluster-certs <TAB>\` is completed by kubectl itself (1.26+) through the
# ${SHIM_NAME} helper on PATH: ${PROGRAM} completion kubectl
${fn}() {
    local line="\${COMP_LINE:0:COMP_POINT}" cur="" out c directive=0 prefix=""
    local -a words=() lines=()
    read -r -a words <<< "$line"
    if [[ -n $line && \${line: -1} != [[:space:]] && \${#words[@]} -gt 1 ]]; then
        cur="\${words[\${#words[@]}-1]}"
        unset 'words[\${#words[@]}-1]'
    fi
    out=$("\${words[0]}" __complete "\${words[@]:1}" "$cur" 2>/dev/null) || return 0
    while IFS= read -r c; do lines+=("$c"); done <<< "$out"
    if [[ \${#lines[@]} -gt 0 && \${lines[\${#lines[@]}-1]} =~ ^:([0-9]+)$ ]]; then
        directive=\${BASH_REMATCH[1]}
        unset 'lines[\${#lines[@]}-1]'
    fi
    (( directive & 1 )) && return 0
    # --flag=value: bash replaces only the text after "=" when "=" breaks words
    if [[ $cur == -*=* && $COMP_WORDBREAKS != *=* ]]; then prefix="\${cur%%=*}="; fi
    COMPREPLY=()
    for c in "\${lines[@]}"; do
        c="\${c%%$'\\t'*}"
        [[ -n $c ]] && COMPREPLY+=("$prefix$c")
    done
    if (( directive & 2 )); then compopt -o nospace 2>/dev/null; fi
    if (( directive & 4 )) || (( \${#COMPREPLY[@]} > 0 )); then compopt +o default 2>/dev/null; fi
    return 0
}
${names.map((n) => `complete -o default -F ${fn} ${n}`).join('\n')}
`;
}

function zshScript(names: string[]): string {
  const fn = `_${PROGRAM}`;
  return `#compdef ${names.join(' ')}
# zsh completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this shell (after compinit):  source <(${PROGRAM} completion zsh)
# Or save it as ${fn} in a directory of $fpath.
${fn}() {
  local cur="\${words[CURRENT]}" out line value desc prefix="" directive=0
  local -a args lines cands opts
  args=("\${(@)words[2,CURRENT-1]}")
  out=$(\${words[1]} __complete "\${args[@]}" "$cur" 2>/dev/null) || return 1
  lines=("\${(@f)out}")
  if [[ \${lines[-1]} =~ '^:[0-9]+$' ]]; then
    directive=\${lines[-1]#:}
    lines=("\${(@)lines[1,-2]}")
  fi
  (( directive & 1 )) && return 1
  [[ $cur == -*=* ]] && prefix="\${cur%%=*}="
  for line in "\${lines[@]}"; do
    [[ -z $line ]] && continue
    value="\${line%%$'\\t'*}"; desc=""
    [[ $line == *$'\\t'* ]] && desc="\${line#*$'\\t'}"
    value="$prefix$value"
    cands+=("\${value//:/\\\\:}\${desc:+:$desc}")
  done
  if (( \${#cands} )); then
    (( directive & 2 )) && opts=(-S '')
    _describe -t values 'vcluster-certs' cands "\${opts[@]}"
    return
  fi
  (( directive & 4 )) && return 1
  _files
}
if [ "$funcstack[1]" = "${fn}" ]; then
  ${fn} "$@"
else
  compdef ${fn} ${names.join(' ')}
fi
`;
}

function fishScript(names: string[]): string {
  const fn = fnName(PROGRAM);
  return `# fish completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this shell:  ${PROGRAM} completion fish | source
# Or save it as ~/.config/fish/completions/${PROGRAM}.fish
function ${fn}
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l prog $words[1]
    set -e words[1]
    set -l out ($prog __complete $words "$cur" 2>/dev/null)
    or return
    set -l directive 0
    if test (count $out) -gt 0; and string match -qr '^:[0-9]+$' -- $out[-1]
        set directive (string sub -s 2 -- $out[-1])
        set -e out[-1]
    end
    if test (math "$directive % 2") -eq 1
        return
    end
    set -l prefix ''
    if string match -qr -- '^-[^=]*=' $cur
        set prefix (string replace -r -- '=.*' '=' $cur)
    end
    set -l n 0
    for line in $out
        test -n "$line"; or continue
        printf '%s%s\\n' $prefix $line
        set n (math $n + 1)
    end
    if test $n -eq 0; and test (math "floor($directive / 4) % 2") -eq 0
        __fish_complete_path $cur
    end
end
${names.map((n) => `complete -c ${n} -f -a '(${fn})'`).join('\n')}
`;
}

function powershellScript(names: string[]): string {
  const all = names.flatMap((n) => [n, `${n}.exe`]);
  return `# PowerShell completion for ${PROGRAM} (kubectl vcluster-certs)
# Load it into this session:  ${PROGRAM} completion powershell | Out-String | Invoke-Expression
# Every session: add that line to $PROFILE.
Register-ArgumentCompleter -Native -CommandName @(${all.map((n) => `'${n}'`).join(', ')}) -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $line = $commandAst.Extent.Text
    if ($line.Length -gt $cursorPosition) { $line = $line.Substring(0, $cursorPosition) }
    $words = @($line -split '\\s+' | Where-Object { $_ -ne '' })
    $prog = $words[0]
    $rest = @()
    if ($words.Count -gt 1) { $rest = @($words | Select-Object -Skip 1) }
    if ($wordToComplete -ne '' -and $rest.Count -gt 0) { $rest = @($rest | Select-Object -First ($rest.Count - 1)) }
    $partial = $wordToComplete
    # Windows PowerShell < 7.3 drops empty arguments to native commands; '""' stands for ''.
    if ($partial -eq '' -and $PSVersionTable.PSVersion -lt [version]'7.3') { $partial = '""' }
    $out = @(& $prog __complete @rest $partial 2>$null)
    $directive = 0
    if ($out.Count -gt 0 -and $out[-1] -match '^:(\\d+)$') {
        $directive = [int]$Matches[1]
        $out = @($out | Select-Object -First ($out.Count - 1))
    }
    if ($directive -band 1) { return }
    $prefix = ''
    if ($wordToComplete -match '^(-[^=]*=)') { $prefix = $Matches[1] }
    foreach ($l in $out) {
        if (-not $l) { continue }
        $parts = $l -split "\`t", 2
        $desc = if ($parts.Count -gt 1 -and $parts[1]) { $parts[1] } else { $parts[0] }
        [System.Management.Automation.CompletionResult]::new($prefix + $parts[0], $parts[0], 'ParameterValue', $desc)
    }
}
`;
}

/** The script for `shell`, registered for the program name and the name we run as (e.g. a `vcerts` symlink). */
export function completionScript(shell: Shell, invoked: string = PROGRAM): string {
  const names = [...new Set([PROGRAM, ...(invoked.startsWith('kubectl ') || /\s/.test(invoked) ? [] : [invoked])])];
  switch (shell) {
    case 'bash': return bashScript(names);
    case 'zsh': return zshScript(names);
    case 'fish': return fishScript(names);
    case 'powershell': return powershellScript(names);
    case 'kubectl': return KUBECTL_SHIM;
  }
}
