#!/bin/bash

__sluice_cursor_index_in_current_word() {
    local remaining="${COMP_LINE}"

    local word
    for word in "${COMP_WORDS[@]::COMP_CWORD}"; do
        remaining="${remaining##*([[:space:]])"${word}"*([[:space:]])}"
    done

    local -ir index="$((COMP_POINT - ${#COMP_LINE} + ${#remaining}))"
    if [[ "${index}" -le 0 ]]; then
        printf 0
    else
        printf %s "${index}"
    fi
}

# positional arguments:
#
# - 1: the current (sub)command's count of positional arguments
#
# required variables:
#
# - repeating_flags: the repeating flags that the current (sub)command can accept
# - non_repeating_flags: the non-repeating flags that the current (sub)command can accept
# - repeating_options: the repeating options that the current (sub)command can accept
# - non_repeating_options: the non-repeating options that the current (sub)command can accept
# - positional_number: value ignored
# - unparsed_words: unparsed words from the current command line
#
# modified variables:
#
# - non_repeating_flags: remove flags for this (sub)command that are already on the command line
# - non_repeating_options: remove options for this (sub)command that are already on the command line
# - positional_number: set to the current positional number
# - unparsed_words: remove all flags, options, and option values for this (sub)command
__sluice_offer_flags_options() {
    local -ir positional_count="${1}"
    positional_number=0

    local was_flag_option_terminator_seen=false
    local is_parsing_option_value=false

    local -ar unparsed_word_indices=("${!unparsed_words[@]}")
    local -i word_index
    for word_index in "${unparsed_word_indices[@]}"; do
        if "${is_parsing_option_value}"; then
            # This word is an option value:
            # Reset marker for next word iff not currently the last word
            [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]] && is_parsing_option_value=false
            unset "unparsed_words[${word_index}]"
            # Do not process this word as a flag or an option
            continue
        fi

        local word="${unparsed_words["${word_index}"]}"
        if ! "${was_flag_option_terminator_seen}"; then
            case "${word}" in
            --)
                unset "unparsed_words[${word_index}]"
                # by itself -- is a flag/option terminator, but if it is the last word, it is the start of a completion
                if [[ "${word_index}" -ne "${unparsed_word_indices[${#unparsed_word_indices[@]} - 1]}" ]]; then
                    was_flag_option_terminator_seen=true
                fi
                continue
                ;;
            -*)
                # ${word} is a flag or an option
                # If ${word} is an option, mark that the next word to be parsed is an option value
                local option
                for option in "${repeating_options[@]}" "${non_repeating_options[@]}"; do
                    [[ "${word}" = "${option}" ]] && is_parsing_option_value=true && break
                done

                # Remove ${word} from ${non_repeating_flags} or ${non_repeating_options} so it isn't offered again
                local not_found=true
                local -i index
                for index in "${!non_repeating_flags[@]}"; do
                    if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                        unset "non_repeating_flags[${index}]"
                        non_repeating_flags=("${non_repeating_flags[@]}")
                        not_found=false
                        break
                    fi
                done
                if "${not_found}"; then
                    for index in "${!non_repeating_flags[@]}"; do
                        if [[ "${non_repeating_flags[${index}]}" = "${word}" ]]; then
                            unset "non_repeating_flags[${index}]"
                            non_repeating_flags=("${non_repeating_flags[@]}")
                            break
                        fi
                    done
                fi
                unset "unparsed_words[${word_index}]"
                continue
                ;;
            esac
        fi

        # ${word} is neither a flag, nor an option, nor an option value
        if [[ "${positional_number}" -lt "${positional_count}" || "${positional_count}" -lt 0 ]]; then
            # ${word} is a positional
            ((positional_number++))
            unset "unparsed_words[${word_index}]"
        else
            if [[ -z "${word}" ]]; then
                # Could be completing a flag, option, or subcommand
                positional_number=-1
            else
                # ${word} is a subcommand or invalid, so stop processing this (sub)command
                positional_number=-2
            fi
            break
        fi
    done

    unparsed_words=("${unparsed_words[@]}")

    if\
        ! "${was_flag_option_terminator_seen}"\
        && ! "${is_parsing_option_value}"\
        && [[ ("${cur}" = -* && "${positional_number}" -ge 0) || "${positional_number}" -eq -1 ]]
    then
        COMPREPLY+=($(compgen -W "${repeating_flags[*]} ${non_repeating_flags[*]} ${repeating_options[*]} ${non_repeating_options[*]}" -- "${cur}"))
    fi
}

__sluice_add_completions() {
    local completion
    while IFS='' read -r completion; do
        COMPREPLY+=("${completion}")
    done < <(IFS=$'\n' compgen "${@}" -- "${cur}")
}

__sluice_custom_complete() {
    if [[ -n "${cur}" || -z ${COMP_WORDS[${COMP_CWORD}]} || "${COMP_LINE:${COMP_POINT}:1}" != ' ' ]]; then
        local -ar words=("${COMP_WORDS[@]}")
    else
        local -ar words=("${COMP_WORDS[@]::${COMP_CWORD}}" '' "${COMP_WORDS[@]:${COMP_CWORD}}")
    fi

    "${COMP_WORDS[0]}" "${@}" "${words[@]}"
}

_sluice() {
    local state
    state="$(shopt -p;shopt -po)"
    trap "${state//$'\n'/;}" RETURN
    shopt -s extglob
    set +o history +o posix

    local -xr SAP_SHELL=bash
    local -x SAP_SHELL_VERSION
    SAP_SHELL_VERSION="$(IFS='.';printf %s "${BASH_VERSINFO[*]}")"
    local -r SAP_SHELL_VERSION

    local -r cur="${2}"
    local -r prev="${3}"

    local -i positional_number
    local -a unparsed_words=("${COMP_WORDS[@]:1:${COMP_CWORD}}")

    local -a repeating_flags=()
    local -a non_repeating_flags=(--version -h --help)
    local -a repeating_options=()
    local -a non_repeating_options=()
    __sluice_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    topic|produce|consume|group|lag|redistribute|export|import|archive|dump|verify|retention|delete-records|cluster|help)
        # Offer subcommand argument completions
        "_sluice_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'topic produce consume group lag redistribute export import archive dump verify retention delete-records cluster help' -- "${cur}"))
        ;;
    esac
}

_sluice_topic() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    create|list|describe|alter|delete|migrate)
        # Offer subcommand argument completions
        "_sluice_topic_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'create list describe alter delete migrate' -- "${cur}"))
        ;;
    esac
}

_sluice_topic_create() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --if-not-exists --version -h --help)
    repeating_options=(-c --config)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout -p --partitions)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '-p'|'--partitions')
        return
        ;;
    '-c'|'--config')
        return
        ;;
    esac
}

_sluice_topic_list() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --internal --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac
}

_sluice_topic_describe() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion topic describe -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_topic_alter() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --version -h --help)
    repeating_options=(-c --config)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout -p --partitions)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '-p'|'--partitions')
        return
        ;;
    '-c'|'--config')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion topic alter -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_topic_delete() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet -y --yes --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion topic delete -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_topic_migrate() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --provenance --no-provenance --execute --dry-run --json --version -h --help)
    repeating_options=(--group)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --to -p --partitions --strategy --wait-inactive --checkpoint-every)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--to')
        return
        ;;
    '-p'|'--partitions')
        return
        ;;
    '--strategy')
        return
        ;;
    '--group')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion topic migrate -- --group "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--wait-inactive')
        return
        ;;
    '--checkpoint-every')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion topic migrate -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_produce() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --version -h --help)
    repeating_options=(-H --header)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout -f --file -K --key-separator -p --partition --compression --batch-size --sync-interval)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '-f'|'--file')
        return
        ;;
    '-K'|'--key-separator')
        return
        ;;
    '-p'|'--partition')
        return
        ;;
    '-H'|'--header')
        return
        ;;
    '--compression')
        __sluice_add_completions -W 'none'$'\n''zstd'
        return
        ;;
    '--batch-size')
        return
        ;;
    '--sync-interval')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion produce -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_consume() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet -f --follow --json --no-commit --version -h --help)
    repeating_options=(-p --partition)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout -o --from --until --until-offset --idle-timeout -c --max-messages --format --isolation --group --commit-every --commit-interval --member)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '-p'|'--partition')
        return
        ;;
    '-o'|'--from')
        return
        ;;
    '--until')
        return
        ;;
    '--until-offset')
        return
        ;;
    '--idle-timeout')
        return
        ;;
    '-c'|'--max-messages')
        return
        ;;
    '--format')
        return
        ;;
    '--isolation')
        __sluice_add_completions -W 'read_uncommitted'$'\n''read_committed'
        return
        ;;
    '--group')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion consume -- --group "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--commit-every')
        return
        ;;
    '--commit-interval')
        return
        ;;
    '--member')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion consume -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_group() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    list|describe|seek|rollback|history|delete)
        # Offer subcommand argument completions
        "_sluice_group_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'list describe seek rollback history delete' -- "${cur}"))
        ;;
    esac
}

_sluice_group_list() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac
}

_sluice_group_describe() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group describe -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_group_seek() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --to-earliest --to-beginning --to-latest --to-end --to-current --all-topics --export --execute --dry-run --force --json --version -h --help)
    repeating_options=(--topic)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --to-offset --to-datetime --by-duration --shift-by --from-file --wait-inactive)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--to-offset')
        return
        ;;
    '--to-datetime')
        return
        ;;
    '--by-duration')
        return
        ;;
    '--shift-by')
        return
        ;;
    '--from-file')
        return
        ;;
    '--topic')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group seek -- --topic "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--wait-inactive')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group seek -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_group_rollback() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --execute --dry-run --force --json --version -h --help)
    repeating_options=(--topic)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --to-commit-at --steps --wait-inactive)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--to-commit-at')
        return
        ;;
    '--steps')
        return
        ;;
    '--topic')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group rollback -- --topic "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--wait-inactive')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group rollback -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_group_history() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --version -h --help)
    repeating_options=(--topic)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --limit)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--topic')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group history -- --topic "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--limit')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group history -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_group_delete() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --wait-inactive)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--wait-inactive')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion group delete -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_lag() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --partitions --watch --version -h --help)
    repeating_options=(--topic)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --format --max-lag --max-lag-seconds --fail-on --stall-after)
    __sluice_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--topic')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion lag -- --topic "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--format')
        __sluice_add_completions -W 'table'$'\n''json'$'\n''prometheus'
        return
        ;;
    '--max-lag')
        return
        ;;
    '--max-lag-seconds')
        return
        ;;
    '--fail-on')
        return
        ;;
    '--stall-after')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion lag -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_redistribute() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    start|status|finish)
        # Offer subcommand argument completions
        "_sluice_redistribute_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'start status finish' -- "${cur}"))
        ;;
    esac
}

_sluice_redistribute_start() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --follow --provenance --no-provenance --execute --dry-run --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --group --factor --into --strategy --from --wait-inactive --checkpoint-every)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--group')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion redistribute start -- --group "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--factor')
        return
        ;;
    '--into')
        return
        ;;
    '--strategy')
        return
        ;;
    '--from')
        __sluice_add_completions -W 'earliest'$'\n''latest'
        return
        ;;
    '--wait-inactive')
        return
        ;;
    '--checkpoint-every')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion redistribute start -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_redistribute_status() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --check --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion redistribute status -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_redistribute_finish() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --force --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --wait-inactive)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--wait-inactive')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion redistribute finish -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_export() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --with-groups --dry-run --json --version -h --help)
    repeating_options=(-p --partition)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout -o --output --from-offset --to-offset --since --until --group --level --threads)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '-o'|'--output')
        return
        ;;
    '-p'|'--partition')
        return
        ;;
    '--from-offset')
        return
        ;;
    '--to-offset')
        return
        ;;
    '--since')
        return
        ;;
    '--until')
        return
        ;;
    '--group')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion export -- --group "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    '--level')
        return
        ;;
    '--threads')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion export -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_import() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --preserve-offsets --append --with-groups --dry-run --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --topic)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--topic')
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion import -- --topic "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_archive() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    inspect|verify)
        # Offer subcommand argument completions
        "_sluice_archive_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'inspect verify' -- "${cur}"))
        ;;
    esac
}

_sluice_archive_inspect() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 1
}

_sluice_archive_verify() {
    repeating_flags=()
    non_repeating_flags=(--json -q --quiet --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 1
}

_sluice_dump() {
    repeating_flags=()
    non_repeating_flags=(--json --no-records --version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 1
}

_sluice_verify() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --repair --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion verify -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_retention() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --execute --dry-run --keep-unconsumed --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options -1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    *)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion retention -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_delete-records() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --dry-run -y --yes --json --version -h --help)
    repeating_options=(-p --partition)
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout --before)
    __sluice_offer_flags_options 1

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    '--before')
        return
        ;;
    '-p'|'--partition')
        return
        ;;
    esac

    # Offer positional completions
    case "${positional_number}" in
    1)
        __sluice_add_completions -W "$(__sluice_custom_complete ---completion delete-records -- positional@0 "${COMP_CWORD}" "$(__sluice_cursor_index_in_current_word)")"
        return
        ;;
    esac
}

_sluice_cluster() {
    repeating_flags=()
    non_repeating_flags=(--version -h --help)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options 0

    # Offer subcommand / subcommand argument completions
    local -r subcommand="${unparsed_words[0]}"
    unset 'unparsed_words[0]'
    unparsed_words=("${unparsed_words[@]}")
    case "${subcommand}" in
    describe)
        # Offer subcommand argument completions
        "_sluice_cluster_${subcommand}"
        ;;
    *)
        # Offer subcommand completions
        COMPREPLY+=($(compgen -W 'describe' -- "${cur}"))
        ;;
    esac
}

_sluice_cluster_describe() {
    repeating_flags=()
    non_repeating_flags=(-q --quiet --json --version -h --help)
    repeating_options=()
    non_repeating_options=(--data-dir --bootstrap-server --cluster --command-config --lock-timeout)
    __sluice_offer_flags_options 0

    # Offer option value completions
    case "${prev}" in
    '--data-dir')
        return
        ;;
    '--bootstrap-server')
        return
        ;;
    '--cluster')
        return
        ;;
    '--command-config')
        return
        ;;
    '--lock-timeout')
        return
        ;;
    esac
}

_sluice_help() {
    repeating_flags=()
    non_repeating_flags=(--version)
    repeating_options=()
    non_repeating_options=()
    __sluice_offer_flags_options -1
}

complete -o filenames -F _sluice sluice
