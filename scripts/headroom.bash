# bash completion for headroom.  The commands and options come from the
# command itself (--list-commands, --list-options: the same tables that parse
# them), so the completion never lags behind a new option.
_headroom()
{
  local cur prev words cword
  if declare -F _init_completion >/dev/null 2>&1; then
    _init_completion -n = || return
  else
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  fi
  local hr=${words[0]}
  # The command path typed so far: headroom [plan|lease] [SUB].
  local -a path=()
  local i w
  for ((i = 1; i < cword; i++)); do
    w=${words[i]}
    [[ $w == -* ]] && break
    if "$hr" "${path[@]}" --list-commands 2>/dev/null | grep -qx -- "$w"; then
      path+=("$w")
    else
      break
    fi
  done
  local subs
  subs=$("$hr" "${path[@]}" --list-commands 2>/dev/null)
  if [[ -n $subs && $cword -eq $((${#path[@]} + 1)) && $cur != -* ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    [[ ${#path[@]} -eq 0 ]] && COMPREPLY+=($(compgen -W "--version --help" -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$("$hr" "${path[@]}" --list-options 2>/dev/null)" -- "${cur%%=*}"))
    return
  fi
  # Values: files for the options and operands that read or write them.
  case $prev in
    --out-dir | --dump | --data) COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) COMPREPLY=($(compgen -f -- "$cur")) ;;
  esac
}
complete -o filenames -F _headroom headroom
