module distroduce.dev/sdk

go 1.24
