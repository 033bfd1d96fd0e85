import unittest

from settings import DEFAULT_PORT, port


class SettingsTest(unittest.TestCase):
    def test_configured(self):
        self.assertEqual(port({"port": 9000}), 9000)

    def test_default(self):
        self.assertEqual(port({}), DEFAULT_PORT)


if __name__ == "__main__":
    unittest.main()
