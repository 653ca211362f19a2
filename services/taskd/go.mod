module berth.dev/services/taskd

go 1.26.8
