# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_argon_global_optspecs
    string join \n C= format= y/yes h/help V/version
end

function __fish_argon_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_argon_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_argon_using_subcommand
    set -l cmd (__fish_argon_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c argon -n "__fish_argon_needs_command" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_needs_command" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_needs_command" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_needs_command" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_needs_command" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_needs_command" -f -a "init" -d 'Create argon.toml for the application in this folder'
complete -c argon -n "__fish_argon_needs_command" -f -a "status" -d 'Show HEAD, its state, connection string and latest version'
complete -c argon -n "__fish_argon_needs_command" -f -a "branch" -d 'List, create, rename or delete branches'
complete -c argon -n "__fish_argon_needs_command" -f -a "checkout" -d 'Switch HEAD to a branch (saving the one it leaves), or create one with -b'
complete -c argon -n "__fish_argon_needs_command" -f -a "commit" -d 'Save a version of HEAD while it keeps running'
complete -c argon -n "__fish_argon_needs_command" -f -a "stash" -d 'Suspend HEAD (save and stop) or resume it (pop)'
complete -c argon -n "__fish_argon_needs_command" -f -a "wait" -d 'Wait until the branches checkout and stash left are saved (they save in the background)'
complete -c argon -n "__fish_argon_needs_command" -f -a "log" -d 'Show saved versions, newest first'
complete -c argon -n "__fish_argon_needs_command" -f -a "diff" -d 'Show what changed: HEAD\'s uncommitted changes, or between two versions'
complete -c argon -n "__fish_argon_needs_command" -f -a "show" -d 'Show a version: what it holds and what it changed'
complete -c argon -n "__fish_argon_needs_command" -f -a "export" -d 'Write a version out as a mongodump folder'
complete -c argon -n "__fish_argon_needs_command" -f -a "import" -d 'Make a branch from a mongodump folder'
complete -c argon -n "__fish_argon_needs_command" -f -a "reset" -d 'Put HEAD back to an earlier version (the state it leaves is saved first)'
complete -c argon -n "__fish_argon_needs_command" -f -a "uri" -d 'Print HEAD\'s connection string'
complete -c argon -n "__fish_argon_needs_command" -f -a "env" -d 'Print MONGODB_URI=... for eval or a .env file'
complete -c argon -n "__fish_argon_needs_command" -f -a "fetch" -d 'Bring in versions and branches other machines saved to the same store'
complete -c argon -n "__fish_argon_needs_command" -f -a "tag" -d 'List, create or delete tags (tagged versions are never collected)'
complete -c argon -n "__fish_argon_needs_command" -f -a "gc" -d 'Delete expired versions and unused chunks from the store; --local evicts volumes'
complete -c argon -n "__fish_argon_needs_command" -f -a "fsck" -d 'Check that every saved version in the store is whole'
complete -c argon -n "__fish_argon_needs_command" -f -a "mount" -d 'Browse every saved version as read-only files (FUSE), until Ctrl-C'
complete -c argon -n "__fish_argon_needs_command" -f -a "umount" -d 'Unmount a folder \'argon mount\' is serving'
complete -c argon -n "__fish_argon_needs_command" -f -a "hooks" -d 'Make the database follow git branches (git hooks)'
complete -c argon -n "__fish_argon_needs_command" -f -a "allow" -d 'Let the git hooks act in this project (as it is now: a changed argon.toml asks again)'
complete -c argon -n "__fish_argon_needs_command" -f -a "deny" -d 'Stop the git hooks from acting in this project'
complete -c argon -n "__fish_argon_needs_command" -f -a "help" -d 'Show help for argon or a command; -a lists plugins too'
complete -c argon -n "__fish_argon_needs_command" -f -a "generate-docs" -d 'Write shell completions and man pages (for packagers and the repository)'
complete -c argon -n "__fish_argon_needs_command" -f -a "__branches" -d 'Branch names, one per line (for shell completion)'
complete -c argon -n "__fish_argon_needs_command" -f -a "__engine-login" -d 'argon\'s own: gives a new engine its first user, from inside its container'
complete -c argon -n "__fish_argon_needs_command" -f -a "__disk-usage" -d 'argon\'s own: measures volumes on disk, from inside a helper container'
complete -c argon -n "__fish_argon_needs_command" -f -a "__proxy" -d 'argon\'s own: the proxy serving HEAD on the stable port (see src/proxy)'
complete -c argon -n "__fish_argon_needs_command" -f -a "__suspend-idle" -d 'argon\'s own, run by the proxy: stash HEAD after [serve] idle_suspend with no client'
complete -c argon -n "__fish_argon_needs_command" -f -a "__wake" -d 'argon\'s own, run by the proxy: start HEAD suspended while idle for a client'
complete -c argon -n "__fish_argon_needs_command" -f -a "__background-save" -d 'argon\'s own, run by checkout and stash: finish pending saves in the background'
complete -c argon -n "__fish_argon_using_subcommand init" -l name -d 'Project name (default: the folder\'s name)' -r
complete -c argon -n "__fish_argon_using_subcommand init" -l image -d 'Engine image (default: mongo:7.0)' -r
complete -c argon -n "__fish_argon_using_subcommand init" -l store -d 'Store URL: file:///path or s3://bucket/prefix' -r
complete -c argon -n "__fish_argon_using_subcommand init" -l port -d 'HEAD\'s stable port on 127.0.0.1 (default: the first free one from 27018)' -r
complete -c argon -n "__fish_argon_using_subcommand init" -l command -d 'Override the image\'s command (repeat for each argument)' -r
complete -c argon -n "__fish_argon_using_subcommand init" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand init" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand init" -l auth -d 'Engines require a login: argon generates one per project, kept 0600 in ARGON_HOME, and \'argon uri\' / \'argon env\' print it'
complete -c argon -n "__fish_argon_using_subcommand init" -l force -d 'Overwrite an existing argon.toml'
complete -c argon -n "__fish_argon_using_subcommand init" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand init" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand init" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand status" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand status" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand status" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand status" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand status" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand branch" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand branch" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand branch" -s d -l delete -d 'Delete the branch (its versions stay in the store)'
complete -c argon -n "__fish_argon_using_subcommand branch" -s D -d 'Delete without asking'
complete -c argon -n "__fish_argon_using_subcommand branch" -s m -l move -d 'Rename OLD to NEW'
complete -c argon -n "__fish_argon_using_subcommand branch" -l disk -d 'With the list: also each branch\'s size on disk (its volume; takes about a second)'
complete -c argon -n "__fish_argon_using_subcommand branch" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand branch" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand branch" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand checkout" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand checkout" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand checkout" -s b -d 'Create the branch NAME (from REV, default HEAD\'s current state) and switch to it'
complete -c argon -n "__fish_argon_using_subcommand checkout" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand checkout" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand checkout" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand commit" -s m -l message -d 'Describe the version' -r
complete -c argon -n "__fish_argon_using_subcommand commit" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand commit" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand commit" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand commit" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand commit" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -f -a "push" -d 'Save HEAD and stop its container (the default)'
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -f -a "pop" -d 'Resume the stashed HEAD'
complete -c argon -n "__fish_argon_using_subcommand stash; and not __fish_seen_subcommand_from push pop list" -f -a "list" -d 'List stashed branches'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from push" -s m -l message -r
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from push" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from push" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from push" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from push" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from push" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from pop" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from pop" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from pop" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from pop" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from pop" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from list" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from list" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand stash; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand wait" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand wait" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand wait" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand wait" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand wait" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand log" -s n -l max-count -d 'Show at most N versions' -r
complete -c argon -n "__fish_argon_using_subcommand log" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand log" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand log" -l oneline -d 'One line per version'
complete -c argon -n "__fish_argon_using_subcommand log" -l all -d 'Every version of the project, including ones no branch reaches'
complete -c argon -n "__fish_argon_using_subcommand log" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand log" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand log" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand diff" -l color -d 'Colour the output' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c argon -n "__fish_argon_using_subcommand diff" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand diff" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand diff" -l stat -d 'Per namespace: documents inserted, updated and deleted, and bytes'
complete -c argon -n "__fish_argon_using_subcommand diff" -l name-only -d 'Only the names of changed namespaces'
complete -c argon -n "__fish_argon_using_subcommand diff" -l name-status -d 'Changed namespaces with A (created), D (dropped), R (renamed) or M (modified)'
complete -c argon -n "__fish_argon_using_subcommand diff" -l no-pager -d 'Write to stdout even on a terminal'
complete -c argon -n "__fish_argon_using_subcommand diff" -l exit-code -d 'Exit with 1 when there are differences, 0 when there are none'
complete -c argon -n "__fish_argon_using_subcommand diff" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c argon -n "__fish_argon_using_subcommand diff" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand show" -l color -d 'Colour the output' -r -f -a "auto\t'On a terminal, unless NO_COLOR is set'
always\t''
never\t''"
complete -c argon -n "__fish_argon_using_subcommand show" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand show" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand show" -l stat -d 'Per namespace: documents inserted, updated and deleted, and bytes'
complete -c argon -n "__fish_argon_using_subcommand show" -l name-only -d 'Only the names of changed namespaces'
complete -c argon -n "__fish_argon_using_subcommand show" -l name-status -d 'Changed namespaces with A (created), D (dropped), R (renamed) or M (modified)'
complete -c argon -n "__fish_argon_using_subcommand show" -l no-pager -d 'Write to stdout even on a terminal'
complete -c argon -n "__fish_argon_using_subcommand show" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c argon -n "__fish_argon_using_subcommand show" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand export" -l archive -d 'Write one mongodump archive file instead (as \'mongodump --archive=FILE\'); it must not exist' -r -F
complete -c argon -n "__fish_argon_using_subcommand export" -l ns -d 'Only this namespace (DB or DB.COLLECTION); repeat for more' -r
complete -c argon -n "__fish_argon_using_subcommand export" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand export" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand export" -l gzip -d 'Compress the archive with gzip (as \'mongodump --archive --gzip\')'
complete -c argon -n "__fish_argon_using_subcommand export" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand export" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand export" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand import" -l archive -d 'A mongodump archive file (as \'mongorestore --archive=FILE\'): the same as giving it as SOURCE' -r -F
complete -c argon -n "__fish_argon_using_subcommand import" -s b -l branch -d 'The new branch (it must not exist)' -r
complete -c argon -n "__fish_argon_using_subcommand import" -l ns -d 'Only this namespace (DB or DB.COLLECTION); repeat for more' -r
complete -c argon -n "__fish_argon_using_subcommand import" -l exclude -d 'Leave this namespace out (DB or DB.COLLECTION); repeat for more' -r
complete -c argon -n "__fish_argon_using_subcommand import" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand import" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand import" -l gzip -d 'Accepted as mongorestore spells it: gzip is recognised by a file\'s first bytes, with or without it'
complete -c argon -n "__fish_argon_using_subcommand import" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand import" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand import" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand reset" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand reset" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand reset" -l hard -d 'Replace HEAD\'s data with REV\'s (required: argon has no soft reset)'
complete -c argon -n "__fish_argon_using_subcommand reset" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand reset" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand reset" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand uri" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand uri" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand uri" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand uri" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand uri" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand env" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand env" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand env" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand env" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand env" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand fetch" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand fetch" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand fetch" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand fetch" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand fetch" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand tag" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand tag" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand tag" -s d -l delete -d 'Delete the tag'
complete -c argon -n "__fish_argon_using_subcommand tag" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand tag" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand tag" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand gc" -l keep-last -d 'Keep the newest N versions of each branch that no branch or tag reaches' -r
complete -c argon -n "__fish_argon_using_subcommand gc" -l keep-within -d 'Keep versions no branch or tag reaches if younger than this (e.g. 30d, 12h, 2w)' -r
complete -c argon -n "__fish_argon_using_subcommand gc" -l grace -d 'Never delete a chunk younger than this (a save may be about to use it)' -r
complete -c argon -n "__fish_argon_using_subcommand gc" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand gc" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand gc" -s n -l dry-run -d 'Show what would be deleted, delete nothing'
complete -c argon -n "__fish_argon_using_subcommand gc" -l local -d 'Instead: remove local volumes of stopped branches (their data is in the store)'
complete -c argon -n "__fish_argon_using_subcommand gc" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand gc" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand gc" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand fsck" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand fsck" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand fsck" -l read-data -d 'Also download every chunk and verify its content (slow; reads the whole store)'
complete -c argon -n "__fish_argon_using_subcommand fsck" -l rebuild-index -d 'First recreate the local metadata (versions, branches) from the store'
complete -c argon -n "__fish_argon_using_subcommand fsck" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand fsck" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand fsck" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand mount" -l cache-memory -d 'Memory kept for chunks read recently (e.g. 64M, 1G)' -r
complete -c argon -n "__fish_argon_using_subcommand mount" -l cache-dir -d 'Also keep chunks read on disk here (compressed), for repeated reads of an S3 store' -r -F
complete -c argon -n "__fish_argon_using_subcommand mount" -l cache-size -d 'Ceiling of the disk cache' -r
complete -c argon -n "__fish_argon_using_subcommand mount" -l refresh -d 'How often the list of versions is read again (new saves appear after at most this)' -r
complete -c argon -n "__fish_argon_using_subcommand mount" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand mount" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand mount" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand mount" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand mount" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand umount" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand umount" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand umount" -l lazy -d 'Detach now even if files under it are open (they finish reading first)'
complete -c argon -n "__fish_argon_using_subcommand umount" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand umount" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand umount" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -f -a "install" -d 'Install git hooks so the database follows `git checkout` / `git switch`'
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -f -a "uninstall" -d 'Remove argon\'s hooks (a chained hook of yours is put back)'
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -f -a "status" -d 'Show the hooks and whether git and the database are in step'
complete -c argon -n "__fish_argon_using_subcommand hooks; and not __fish_seen_subcommand_from install uninstall status run" -f -a "run" -d 'Run by the hooks themselves'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from install" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from install" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from install" -l force -d 'Replace an existing hook instead of chaining it (a backup is kept)'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from install" -l manual -d 'Change nothing; print what to add to your own hooks'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from install" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from install" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from install" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from uninstall" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from status" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from status" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from status" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from run" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from run" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from run" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand hooks; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand allow" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand allow" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand allow" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand allow" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand allow" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand deny" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand deny" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand deny" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand deny" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand deny" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand help" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand help" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand help" -s a -l all -d 'List all commands: builtins and argon-* plugins found on PATH'
complete -c argon -n "__fish_argon_using_subcommand help" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand help" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand help" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand generate-docs" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand generate-docs" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand generate-docs" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand generate-docs" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand __branches" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand __branches" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand __branches" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand __branches" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand __branches" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand __engine-login" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand __engine-login" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand __engine-login" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand __engine-login" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand __engine-login" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand __disk-usage" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand __disk-usage" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand __disk-usage" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand __disk-usage" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand __disk-usage" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand __proxy" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand __proxy" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand __proxy" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand __proxy" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand __proxy" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand __suspend-idle" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand __suspend-idle" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand __suspend-idle" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand __suspend-idle" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand __suspend-idle" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand __wake" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand __wake" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand __wake" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand __wake" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand __wake" -s V -l version -d 'Print version'
complete -c argon -n "__fish_argon_using_subcommand __background-save" -s C -d 'Run as if argon was started in DIR' -r -F
complete -c argon -n "__fish_argon_using_subcommand __background-save" -l format -d 'Output format' -r -f -a "human\t''
json\t''"
complete -c argon -n "__fish_argon_using_subcommand __background-save" -s y -l yes -d 'Answer yes to confirmations (also implied when stdin is not a terminal)'
complete -c argon -n "__fish_argon_using_subcommand __background-save" -s h -l help -d 'Print help'
complete -c argon -n "__fish_argon_using_subcommand __background-save" -s V -l version -d 'Print version'

complete -c argon -n '__fish_seen_subcommand_from checkout branch log reset' -f -a '(argon __branches 2>/dev/null)'
