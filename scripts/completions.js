#!/usr/bin/env node
// Writes completions/netctl.bash and completions/_netctl (zsh). Both are thin: they hand the words typed
// so far to `netctl __complete -- WORDS...` (src/commands/complete.ts), which knows the commands, flags,
// flag values, kinds, and asks the datastore and the labs for names. Its first line may be `:files`
// (complete file names) or `:nospace` (the value goes on, as after -o go-template=). No fish: oclif's
// autocomplete plugin has none, and neither does netctl.
import {mkdirSync, writeFileSync} from 'node:fs'

const bash = `# netctl completion for bash. Use: source completions/netctl.bash (or copy it to
# /etc/bash_completion.d/netctl). Every TAB runs \`netctl __complete\`, which never prompts and prints
# nothing when it cannot tell.
_netctl_autocomplete() {
  local line="\${COMP_LINE:0:\${COMP_POINT:-\${#COMP_LINE}}}"
  local -a words
  # The words up to the cursor, split on blanks only: bash's COMP_WORDS also splits at = and :.
  read -ra words <<< "$line"
  if [[ -z "$line" || "$line" =~ [[:space:]]$ || \${#words[@]} -lt 2 ]]; then words+=(""); fi
  local cur="\${words[\${#words[@]}-1]}"
  local out
  out="$("\${words[0]}" __complete -- "\${words[@]:1}" 2>/dev/null)" || out=""
  COMPREPLY=()
  [[ -n "$out" ]] || return 0
  local -a lines
  mapfile -t lines <<< "$out"
  # Readline replaces only the text after the last word-break character (= or :) of the word.
  local breaks="\${COMP_WORDBREAKS:-=:}" keep="" i
  for ((i = \${#cur} - 1; i >= 0; i--)); do
    if [[ "$breaks" == *"\${cur:i:1}"* ]]; then keep="\${cur:0:i+1}"; break; fi
  done
  if [[ "\${lines[0]}" == ":files" ]]; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "\${cur#"$keep"}")
    return 0
  fi
  if [[ "\${lines[0]}" == ":nospace" ]]; then
    compopt -o nospace 2>/dev/null
    lines=("\${lines[@]:1}")
  fi
  local candidate
  for candidate in "\${lines[@]}"; do
    [[ -n "$candidate" ]] && COMPREPLY+=("\${candidate#"$keep"}")
  done
  return 0
}
complete -F _netctl_autocomplete netctl
`

const zsh = `#compdef netctl
# netctl completion for zsh. Use: put this file in a directory of $fpath (as _netctl) before compinit,
# or source it after compinit. Every TAB runs \`netctl __complete\`, which never prompts and prints
# nothing when it cannot tell.
_netctl() {
  local out
  out="$(\${words[1]} __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)" || return 1
  [[ -n "$out" ]] || return 1
  local -a lines
  lines=("\${(@f)out}")
  if [[ "\${lines[1]}" == ":files" ]]; then
    _files
    return
  fi
  local -a suffix
  if [[ "\${lines[1]}" == ":nospace" ]]; then
    suffix=(-S '')
    shift lines
  fi
  (( \${#lines} )) || return 1
  compadd "\${suffix[@]}" -- "\${lines[@]}"
}

if [[ "\${funcstack[1]}" == "_netctl" ]]; then
  _netctl "$@"
else
  (( $+functions[compdef] )) && compdef _netctl netctl
fi
`

mkdirSync('completions', {recursive: true})
writeFileSync('completions/netctl.bash', bash)
writeFileSync('completions/_netctl', zsh)
