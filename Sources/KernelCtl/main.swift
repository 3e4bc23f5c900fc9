// Entry point; the command tree is in Commands.swift.
KernelCtl.main()
