# fish completion for jobctl(1). Installed by `make install` into
# $(PREFIX)/share/fish/vendor_completions.d/jobctl.fish; or copy it to
# ~/.config/fish/completions/. As in the bash and zsh completions, the
# commands, their flags and the settings come from jobctl itself (`jobctl
# help commands`, each command's usage line, `jobctl help settings`); job
# names, run numbers and name-space paths are asked of jobd (quietly), at the
# -a ADDR of the line if it has one.

# jobctl, with the line's -a ADDR, quiet. $argv[1] is the jobctl to run.
function __jobctl_ask
    set -l tokens (commandline -opc)
    set -l addr
    set -l i 2
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case -a --a
                set addr -a $tokens[(math $i + 1)]
                break
            case '-a=*' '--a=*'
                set addr $tokens[$i]
                break
            case '-*'
            case '*'
                break
        end
        set i (math $i + 1)
    end
    $tokens[1] $addr $argv 2>/dev/null
end

# Everything that fits where the cursor is, one a line.
function __jobctl_complete
    set -l tokens (commandline -opc)
    set -l cur (commandline -ct)
    set -l i 2
    set -l cmd
    # Global flags, then the command.
    while test $i -le (count $tokens)
        switch $tokens[$i]
            case -a --a
                set i (math $i + 2)
                continue
            case '-*'
            case '*'
                set cmd $tokens[$i]
                break
        end
        set i (math $i + 1)
    end
    if test -z "$cmd"
        if contains -- "$tokens[-1]" -a --a
            return
        end
        if string match -q -- '-*' $cur
            printf '%s\n' -a -utc -version -help
        else
            __jobctl_ask help commands
        end
        return
    end

    # The command's flags, from its usage line ("log [-f] [-n N] [-raw] NAME"):
    # those before a value word (-n N) take one.
    set -l usage (__jobctl_ask help $cmd)[1]
    set -l flags (string match -ra -- '\[(-[a-z]+)[] ]' $usage | string match -r -- '^-[a-z]+$')
    set -l valued (string match -ra -- '\[(-[a-z]+) [^]]+\]' $usage | string match -r -- '^-[a-z]+$')

    # The positional arguments before the cursor.
    set -l npos 0
    set -l j (math $i + 1)
    while test $j -le (count $tokens)
        if string match -q -- '-*' $tokens[$j]
            contains -- $tokens[$j] $valued; and set j (math $j + 1)
        else
            set npos (math $npos + 1)
        end
        set j (math $j + 1)
    end

    set -l prev $tokens[-1]
    switch "$cmd:$prev"
        case kill:-s
            printf '%s\n' HUP INT QUIT KILL USR1 USR2 TERM CONT STOP ALRM
            return
        case '*:-o'
            printf '%s\n' wide json
            return
        case '*:-u'
            __fish_complete_users | string replace -r '\t.*' ''
            return
        case '*:-*'
            contains -- $prev $valued; and return
    end
    if string match -q -- '-*' $cur
        printf '%s\n' $flags -help
        return
    end

    switch $cmd
        case start stop rm export
            __jobctl_ask ls-files jobs
        case run kill status log runs edit next
            test $npos -eq 0; and __jobctl_ask ls-files jobs
        case import
            test $npos -eq 0; and begin
                __fish_complete_path $cur
                echo -
            end
        case output
            if test $npos -eq 0
                __jobctl_ask ls-files jobs
            else if test $npos -eq 1
                __jobctl_ask ls-files jobs/$prev/runs
            end
        case set
            switch $npos
                case 0
                    __jobctl_ask ls-files jobs
                case 1
                    __jobctl_ask help settings | string replace -r ' .*' ''
                case 2
                    if test "$prev" = dir
                        __fish_complete_directories $cur
                    else
                        __jobctl_ask help settings | string match -r -- "^$prev .*; one of: (.*)" |
                            tail -n 1 | string split ' '
                    end
            end
        case read write ls-files
            if test $npos -eq 0
                # Paths of the name space, one directory level at a time.
                set -l dir (string replace -r '/[^/]*$' '' -- $cur)
                test "$dir" = "$cur"; and set dir ''
                set -l base ''
                test -n "$dir"; and set base "$dir/"
                set -l top $dir
                test -z "$top"; and set top /
                for n in (__jobctl_ask ls-files $top)
                    if __jobctl_ask ls-files $base$n >/dev/null
                        echo $base$n/
                    else
                        echo $base$n
                    end
                end
            end
        case help
            test $npos -eq 0; and begin
                __jobctl_ask help commands
                printf '%s\n' commands settings
            end
    end
end

complete -c jobctl -f -a '(__jobctl_complete)'
