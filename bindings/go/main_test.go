package rgcd

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func init() {
	// The child of TestRunMain drives the main queue, which needs the main thread.
	if os.Getenv("RGCD_GO_TEST_MAIN_QUEUE") != "" {
		runtime.LockOSThread()
	}
}

func runMainQueueChild() {
	m := Main()
	bg := Global(QoSDefault)
	bg.Async(func() {
		m.Async(func() {
			os.Stdout.WriteString("main queue ran on the main thread\n")
			os.Exit(0)
		})
	})
	err := RunMain()
	os.Stdout.WriteString("RunMain returned: " + err.Error() + "\n")
	os.Exit(1)
}

func TestRunMain(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RGCD_GO_TEST_MAIN_QUEUE=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "main queue ran on the main thread") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	// Off the main thread RunMain reports misuse instead of blocking.
	done := make(chan error)
	var offMain func()
	offMain = func() {
		runtime.LockOSThread()
		if syscall.Gettid() == os.Getpid() {
			go offMain() // this goroutine holds the main thread, so the next one cannot get it
			return
		}
		done <- RunMain()
	}
	go offMain()
	if err := recv(t, done); err == nil {
		t.Fatal("RunMain off the main thread returned nil")
	}
}
